import { LocalStore } from './local.js';
import type { DiskStore } from './types.js';

/**
 * Opening a local store: the only door to its class for code outside src/store/. Everything else
 * holds a `Store`, `SyncStore` or `DiskStore` (src/store/types.ts), so a consumer can be tested
 * on a MemoryStore; the lint rule `store-opened-not-named` (.dependency-cruiser.cjs) keeps it so.
 */

/** Opens (creating on first use) the store directory `root`, refusing a newer format. */
export function openLocalStore(root: string): DiskStore {
  return LocalStore.open(root);
}

/**
 * The store at `root` as a task worker sees it: opened by its parent, which checked its FORMAT,
 * so it is not read again for every worker.
 */
export function attachLocalStore(root: string): DiskStore {
  return new LocalStore(root);
}
