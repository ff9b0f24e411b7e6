import { decodeArtifact } from '../serialize/decode.js';
import type { SyncStore } from '../store/types.js';
import type { ArtifactRef } from '../metadata/records.js';

// A module of its own, apart from artifacts.ts: the client API reads artifacts and never writes
// one, so `import 'flowrun'` need not load (parse and compile) the encoder (issue #18).

/** Loads an artifact value from the store (blobs fetched by hash on demand). */
export function loadArtifact(store: SyncStore, ref: ArtifactRef): unknown {
  return decodeArtifact(store.getObjectSync(ref.hash), { hash: ref.hash, getBlob: (h) => store.getObjectSync(h) });
}
