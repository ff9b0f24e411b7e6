import { CACHE_DIR } from '../metadata/records.js';
import { isRunId } from './remote-input.js';
import { type Collectable, type GcStore, isCollectable, SHA256_HEX } from './types.js';

/**
 * gc's part of the step cache (src/cache/): entries of runs that are gone are dropped with
 * them. An entry names the run whose task record holds its outputs, so once that run is
 * deleted its objects may go and the entry could only miss. Entries are never gc roots: a
 * kept run already keeps what its entries name. `gone(run)` says whether a run is deleted (or
 * was before); a run newer than gc's listing is never gone. Returns the entries dropped.
 */
export async function pruneCacheEntries(store: GcStore, gone: (run: string) => boolean, dryRun: boolean): Promise<number> {
  return isCollectable(store) ? pruneLocal(store, gone, dryRun) : store.pruneCacheEntries(gone, dryRun);
}

/** Entries of a store on this machine, through its records; a task key's directory goes with its last entry. */
function pruneLocal(store: Collectable, gone: (run: string) => boolean, dryRun: boolean): number {
  let dropped = 0;
  for (const k1 of listQuietly(store, CACHE_DIR)) {
    if (!SHA256_HEX.test(k1)) continue;
    for (const file of listQuietly(store, `${CACHE_DIR}/${k1}`)) {
      if (!file.endsWith('.json') || !SHA256_HEX.test(file.slice(0, -5))) continue;
      let run: unknown;
      try {
        run = store.readRecordSync<{ run?: unknown }>(`${CACHE_DIR}/${k1}/${file}`)?.run;
      } catch {
        run = undefined;
      }
      // An unreadable entry is dropped too: it could only be refused.
      if (isRunId(run) && !gone(run)) continue;
      dropped++;
      if (!dryRun) store.deleteRecordSync(`${CACHE_DIR}/${k1}/${file}`);
    }
  }
  return dropped;
}

/** A record directory's names; [] when it cannot be read (gc goes on without what it cannot see). */
function listQuietly(store: Collectable, dir: string): string[] {
  try {
    return store.listRecordsSync(dir);
  } catch {
    return [];
  }
}
