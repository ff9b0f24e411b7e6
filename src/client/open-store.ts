import { type FlowConfig, loadConfig, localStoreDir } from '../config/config.js';
import { mirrorLocation } from '../mirror/mirror.js';
import { LocalStore } from '../store/local.js';
import type { S3Location } from '../store/s3-location.js';

export interface ClientOptions {
  /** Store directory (default: from .flowrc / FLOW_STORE, looked up from the working directory). */
  store?: string;
}

/** The store named by opts, else by .flowrc / FLOW_STORE found from the working directory. */
export function openStore(opts: ClientOptions = {}): LocalStore {
  if (opts.store) return LocalStore.open(opts.store);
  return openProjectStore(loadConfig(process.cwd()));
}

/** A project's local store, linked to its mirror (if one is configured). */
export function openProjectStore(config: FlowConfig): LocalStore {
  const store = LocalStore.open(localStoreDir(config));
  const mirror = mirrorLocation(config);
  if (mirror) mirrors.set(store, mirror);
  return store;
}

/** The mirror a local store was opened with: runs missing locally are fetched from it on demand. */
const mirrors = new WeakMap<LocalStore, S3Location>();

export function mirrorOf(store: LocalStore): S3Location | undefined {
  return mirrors.get(store);
}
