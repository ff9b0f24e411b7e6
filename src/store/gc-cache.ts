import { CACHE_DIR } from '../metadata/records.js';
import { CACHE_BUNDLE_MAX_BYTES, isPlainObject, isRunId } from './remote-input.js';
import type { S3Store } from './s3.js';
import { type Collectable, isCollectable, SHA256_HEX, type Store } from './types.js';

/**
 * gc's part of the step cache (src/cache/): entries of runs that are gone are dropped with
 * them. An entry names the run whose task record holds its outputs, so once that run is
 * deleted its objects may go and the entry could only miss. Entries are never gc roots: a
 * kept run already keeps what its entries name. `gone(run)` says whether a run is deleted (or
 * was before); a run newer than gc's listing is never gone. Returns the entries dropped.
 */
export async function pruneCacheEntries(store: Store, gone: (run: string) => boolean, dryRun: boolean): Promise<number> {
  return isCollectable(store) ? pruneLocal(store, gone, dryRun) : pruneRemote(store as S3Store, gone, dryRun);
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

async function pruneRemote(s3: S3Store, gone: (run: string) => boolean, dryRun: boolean): Promise<number> {
  const prefix = s3.key(`${CACHE_DIR}/`);
  let dropped = 0;
  const doomed: string[] = [];
  for await (const { key } of s3.listKeys(prefix)) {
    const rel = key.slice(s3.loc.prefix.length);
    const [k0, file, ...rest] = key.slice(prefix.length).split('/');
    const run = file?.endsWith('.json') ? file.slice(0, -5) : '';
    if (rest.length > 0 || !SHA256_HEX.test(k0 ?? '') || !isRunId(run) || gone(run)) {
      doomed.push(rel);
      continue;
    }
    // A kept bundle may carry entries of runs that are gone: it is written again without them.
    let bundle: unknown;
    try {
      bundle = await s3.readJson(rel, CACHE_BUNDLE_MAX_BYTES);
    } catch {
      bundle = undefined;
    }
    if (!isPlainObject(bundle) || !Array.isArray(bundle.entries)) {
      doomed.push(rel);
      continue;
    }
    const entries = bundle.entries as unknown[];
    const kept = entries.filter((e) => isPlainObject(e) && isRunId(e.run) && !gone(e.run));
    if (kept.length === entries.length) continue;
    dropped += entries.length - kept.length;
    if (dryRun) continue;
    if (kept.length === 0) doomed.push(rel);
    else await s3.writeRecord(rel, { ...bundle, entries: kept });
  }
  if (!dryRun) await s3.deleteKeys(doomed);
  return dropped + doomed.length;
}

/** A record directory's names; [] when it cannot be read (gc goes on without what it cannot see). */
function listQuietly(store: Collectable, dir: string): string[] {
  try {
    return store.listRecordsSync(dir);
  } catch {
    return [];
  }
}
