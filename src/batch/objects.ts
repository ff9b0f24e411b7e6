import { decodeArtifact } from '../serialize/decode.js';
import type { ArtifactRef } from '../metadata/records.js';
import type { Store } from '../store/types.js';
import { mapLimit } from '../util/map-limit.js';

const NEED_BLOB = Symbol('need-blob');

/**
 * Every object an artifact consists of: its document and the blobs holding its large binary
 * parts (found by decoding the document; blobs are fetched as the decoder asks for them).
 */
export async function artifactObjects(ref: ArtifactRef, fetch: (hash: string) => Promise<Buffer>): Promise<Map<string, Buffer>> {
  const got = new Map<string, Buffer>([[ref.hash, await fetch(ref.hash)]]);
  for (;;) {
    let missing: string | undefined;
    try {
      decodeArtifact(got.get(ref.hash)!, {
        hash: ref.hash,
        getBlob: (h) => {
          const b = got.get(h);
          if (b) return b;
          missing = h;
          throw NEED_BLOB;
        },
      });
    } catch (e) {
      if (e !== NEED_BLOB) throw e;
    }
    if (missing === undefined) return got;
    got.set(missing, await fetch(missing));
  }
}

/**
 * Moves objects between the orchestrator's store and the S3 store Batch jobs use. When both are
 * the same store (the run's primary store is S3) nothing moves. Objects already known to be on
 * the other side are skipped without a request, so a split artifact read by 1,000 tasks goes up once.
 */
export class ObjectBridge {
  private readonly remoteHas = new Set<string>();

  constructor(
    readonly local: Store,
    readonly remote: Store,
  ) {}

  private get same(): boolean {
    return this.local === this.remote;
  }

  /** Makes the artifacts (documents and blobs) and plain objects available in the remote store. */
  async upload(artifacts: ArtifactRef[], objects: string[] = []): Promise<void> {
    if (this.same) return;
    const wanted = new Map<string, Buffer | undefined>();
    for (const h of objects) wanted.set(h, undefined);
    for (const ref of dedupe(artifacts)) {
      if (this.remoteHas.has(ref.hash)) continue;
      for (const [h, bytes] of await artifactObjects(ref, (x) => this.local.getObject(x))) wanted.set(h, bytes);
    }
    const todo = [...wanted].filter(([h]) => !this.remoteHas.has(h));
    await mapLimit(todo, 8, async ([h, bytes]) => {
      if (!(await this.remote.hasObject(h))) await this.remote.putObject(bytes ?? (await this.local.getObject(h)));
      this.remoteHas.add(h);
    });
  }

  /** Copies what a Batch task produced (artifacts with their blobs, logs) into the orchestrator's store. */
  async download(artifacts: ArtifactRef[], objects: string[] = []): Promise<void> {
    if (this.same) return;
    const todo: Array<[string, Buffer | undefined]> = objects.map((h) => [h, undefined]);
    for (const ref of dedupe(artifacts)) {
      if (await this.local.hasObject(ref.hash)) continue;
      for (const entry of await artifactObjects(ref, (x) => this.remote.getObject(x))) todo.push(entry);
    }
    await mapLimit(todo, 8, async ([h, bytes]) => {
      if (!(await this.local.hasObject(h))) await this.local.putObject(bytes ?? (await this.remote.getObject(h)));
      this.remoteHas.add(h);
    });
  }
}

function dedupe(refs: ArtifactRef[]): ArtifactRef[] {
  return [...new Map(refs.map((r) => [r.hash, r])).values()];
}
