import { isFlowError } from '../errors/index.js';
import { CACHE_DIR, cacheEntryPath } from '../metadata/records.js';
import type { SyncStore } from '../store/types.js';
import { SHA256_HEX } from '../util/hash.js';
import { type CacheEntry, entryProblem } from './entry.js';

/** An entry found on disk: sound, or the reason it is not (corrupt, forged, another version). */
export type Found = { k2: string; entry: CacheEntry } | { k2: string; problem: string };

/** The local entries filed under a task key, each read and checked (a bad one is a problem, not an error). */
export function localCandidates(store: SyncStore, k1: string): Found[] {
  const out: Found[] = [];
  for (const file of store.listRecordsSync(`${CACHE_DIR}/${k1}`)) {
    const k2 = file.endsWith('.json') ? file.slice(0, -'.json'.length) : '';
    if (!SHA256_HEX.test(k2)) continue; // a leftover temp file, or not ours
    out.push(readLocalEntry(store, k1, k2));
  }
  return out;
}

export function readLocalEntry(store: SyncStore, k1: string, k2: string): Found {
  let value: unknown;
  try {
    value = store.readRecordSync<unknown>(cacheEntryPath(k1, k2));
  } catch (e) {
    return { k2, problem: isFlowError(e) ? e.message : String(e) };
  }
  if (value === undefined) return { k2, problem: 'it is gone' };
  const problem = entryProblem(value, { k1, k2 });
  return problem ? { k2, problem } : { k2, entry: value as CacheEntry };
}

/**
 * Files an entry under its keys, unless one is there already: two runs filling the same key at
 * once store one entry (link(2) fails for the second), and an entry is never rewritten.
 */
export function createLocalEntry(store: SyncStore, entry: CacheEntry): boolean {
  return store.createRecordSync(cacheEntryPath(entry.k1, entry.k2), entry);
}

export function deleteLocalEntry(store: SyncStore, k1: string, k2: string): void {
  // The task key's directory goes with its last entry.
  store.deleteRecordSync(cacheEntryPath(k1, k2));
}

/** Every entry of the local store (flow cache clear, gc), problems included. */
export function* allLocalEntries(store: SyncStore): Iterable<Found & { k1: string }> {
  for (const k1 of store.listRecordsSync(CACHE_DIR)) {
    if (!SHA256_HEX.test(k1)) continue;
    for (const found of localCandidates(store, k1)) yield { ...found, k1 };
  }
}

/**
 * flow cache clear: removes the local entries (of one step, or all; an unreadable entry goes
 * with "all" only, as its step cannot be told). Returns how many went.
 */
export function clearLocalEntries(store: SyncStore, step?: string): number {
  let n = 0;
  for (const found of allLocalEntries(store)) {
    if (step !== undefined && !('entry' in found && found.entry.step === step)) continue;
    deleteLocalEntry(store, found.k1, found.k2);
    n++;
  }
  return n;
}
