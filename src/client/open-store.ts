import { type FlowConfig, loadConfig, localStoreDir } from '../config/config.js';
import { mirrorLocation } from '../mirror/mirror.js';
import { openLocalStore } from '../store/open.js';
import type { DiskStore, Store } from '../store/types.js';
import type { S3Location } from '../store/s3-location.js';

export interface ClientOptions {
  /** Store directory (default: from .flowrc / FLOW_STORE, looked up from the working directory). */
  store?: string;
}

/** The store named by opts, else by .flowrc / FLOW_STORE found from the working directory. */
export function openStore(opts: ClientOptions = {}): DiskStore {
  if (opts.store) return openLocalStore(opts.store);
  return openProjectStore(loadConfig(process.cwd()));
}

/** A project's local store, linked to its mirror (if one is configured). */
export function openProjectStore(config: FlowConfig): DiskStore {
  const store = openLocalStore(localStoreDir(config));
  const mirror = mirrorLocation(config);
  if (mirror) mirrors.set(store, mirror);
  return store;
}

/** The mirror a local store was opened with: runs missing locally are fetched from it on demand. */
const mirrors = new WeakMap<Store, S3Location>();

export function mirrorOf(store: Store): S3Location | undefined {
  return mirrors.get(store);
}
