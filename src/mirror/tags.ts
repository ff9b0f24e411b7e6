import { isTagEntryName, tagEntryName, tagEntryPath, tagLogDir, withTagLog } from '../metadata/tags.js';
import { runRecordPath, type RunRecord } from '../metadata/records.js';
import type { SyncStore } from '../store/types.js';
import { RECORD_MAX_BYTES } from '../store/remote-input.js';
import type { S3Store } from '../store/s3.js';
import { checkRemoteRunRecord } from '../store/s3-runs.js';
import { updateRemoteRunIndex } from '../store/s3-run-index.js';
import { readRemoteEntries, remoteNames, remoteTagLog } from '../store/s3-tags.js';
import { mapLimit } from '../util/map-limit.js';

/** Copies the run's local tag entries the mirror lacks (entries are immutable: a name present is the same entry). */
export async function pushTagLog(local: SyncStore, remote: S3Store, run: string): Promise<number> {
  const mine = local.listRecordsSync(tagLogDir(run)).filter(isTagEntryName);
  if (mine.length === 0) return 0;
  const theirs = new Set(await remoteNames(remote, run));
  const missing = mine.filter((n) => !theirs.has(n));
  await mapLimit(missing, 8, async (name) => {
    await remote.createRecord(tagEntryPath(run, name), local.readRecordSync(tagEntryPath(run, name)));
  });
  return missing.length;
}

/**
 * Brings the run's entry in the mirror's run index up to date with its tag log (`flow runs
 * --remote` reads tags from the index: no request per run), after `flow tag` pushed an entry
 * (a push indexes the runs it pushes itself). Best effort: the index is a cache, and a run the
 * index lacks is read with its tag log.
 */
export async function reindexTags(remote: S3Store, run: string): Promise<void> {
  try {
    const value = await remote.readJson(runRecordPath(run), RECORD_MAX_BYTES);
    if (value === undefined) return; // not pushed yet: its push indexes it
    const record = checkRemoteRunRecord(value, `${remote.location}${runRecordPath(run)}`, run);
    await updateRemoteRunIndex(remote, { add: [withTagLog(record, await remoteTagLog(remote, run))] });
  } catch {
    // The mirror failed: the entries are there; the index catches up on the next push or listing.
  }
}

/**
 * Reads the mirror's tag entries of a run that the local store lacks, each checked (its name is
 * the hash of its content, it names this run): a forged one throws before anything is written.
 * Returns a function that writes them, for the caller to run once the run itself is stored.
 */
export async function fetchTagLog(remote: S3Store, local: SyncStore, run: string): Promise<{ entries: number; write: () => void }> {
  const mine = new Set(local.listRecordsSync(tagLogDir(run)));
  const wanted = (await remoteNames(remote, run)).filter((n) => !mine.has(n));
  const got = await readRemoteEntries(remote, run, wanted);
  return {
    entries: got.length,
    write: () => {
      for (const e of got) local.createRecordSync(tagEntryPath(run, tagEntryName(e)), e);
    },
  };
}

/** A mirror's run record with its tags merged with the mirror's tag log. */
export async function withRemoteTags(remote: S3Store, r: RunRecord): Promise<RunRecord> {
  return withTagLog(r, await remoteTagLog(remote, r.id));
}

export { remoteTagLog };
