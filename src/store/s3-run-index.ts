import { isFlowError, type StoreError } from '../errors/index.js';
import { runRecordPath, type RunRecord } from '../metadata/records.js';
import { mapLimit } from '../util/map-limit.js';
import { forgedRecord, isPlainObject, isRunId, printable, RECORD_MAX_BYTES } from './remote-input.js';
import type { S3Store } from './s3.js';
import { checkRemoteRunRecord } from './s3-runs.js';
import { withTagLog } from '../metadata/tags.js';
import { remoteTagLog } from './s3-tags.js';

/**
 * The mirror's run index: one document, `index/runs.json` under the mirror's prefix, holding the
 * run record of every pushed run, so `flow runs --remote` is three requests (the store's FORMAT,
 * one listing of run ids, this document) instead of one GET per run (issue #18).
 *
 * A cache, never the source of truth: the run records stay where they were, and
 *  - a run is listed only if the listing of `runs/` shows it (an entry for a deleted run is
 *    ignored), and a listed run without an entry is read from its record (and then added);
 *  - writers keep entries equal to the records: `flow push` removes a run's entry before it
 *    rewrites a record already on the mirror and adds it after, so a push killed in between leaves
 *    a run without an entry (read from its record), never a stale entry; gc removes entries of
 *    the runs it deletes;
 *  - every update is read-modify-write with a conditional PUT (If-Match on the ETag read, or
 *    If-None-Match: * while there is none), retried on conflict, so concurrent pushes from many
 *    machines lose no entry.
 * The mirror is untrusted input: the document is size-bounded and every entry must be a run
 * record of the run it is filed under (the checks of a run record read from the mirror); a bad
 * entry is dropped and its run read from its record. `flow fsck --remote` compares every entry
 * with its record.
 */
export const REMOTE_RUN_INDEX_PATH = 'index/runs.json';

/** Run records are a few KiB: this holds hundreds of thousands of runs. */
export const REMOTE_RUN_INDEX_MAX_BYTES = 256 << 20;

/** Conditional writes lost to other writers before giving up (each loser reads again and retries). */
const UPDATE_ATTEMPTS = 30;

export interface RemoteRunIndex {
  /** ETag of the document read (undefined: there is none, or it could not be read). */
  etag: string | undefined;
  /** The document is there but could not be read (too big, no ETag): it cannot be updated, only deleted. */
  unreadable?: boolean;
  /** Entries that passed the checks, by run id. */
  runs: Map<string, RunRecord>;
  /** Why entries (or the whole document) were refused. */
  problems: StoreError[];
}

/** Reads and checks the index; a missing document is an empty index, a forged one an empty index with a problem. */
export async function readRemoteRunIndex(remote: S3Store): Promise<RemoteRunIndex> {
  const key = `${remote.location}${REMOTE_RUN_INDEX_PATH}`;
  let doc;
  try {
    doc = await remote.readVersioned(REMOTE_RUN_INDEX_PATH, REMOTE_RUN_INDEX_MAX_BYTES);
  } catch (e) {
    if (isFlowError(e) && e.code === 'STORE_CORRUPT_RECORD') return { etag: undefined, unreadable: true, runs: new Map(), problems: [e as StoreError] };
    throw e;
  }
  if (!doc) return { etag: undefined, runs: new Map(), problems: [] };
  let value: unknown;
  try {
    value = JSON.parse(doc.bytes.toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!isPlainObject(value) || value.v !== 1 || !isPlainObject(value.runs)) {
    return { etag: doc.etag, runs: new Map(), problems: [forgedRecord(key, 'it is not a run index ({"v":1,"runs":{…}})')] };
  }
  const runs = new Map<string, RunRecord>();
  const problems: StoreError[] = [];
  for (const [id, record] of Object.entries(value.runs)) {
    try {
      if (!isRunId(id)) throw forgedRecord(key, `its entry ${JSON.stringify(printable(id))} is not a run id`);
      runs.set(id, checkRemoteRunRecord(record, `${key} (entry "${id}")`, id));
    } catch (e) {
      if (!isFlowError(e)) throw e;
      problems.push(e as StoreError);
    }
  }
  return { etag: doc.etag, runs, problems };
}

export interface IndexChange {
  /** Entries to set (a run's record as it is now on the mirror). */
  add?: RunRecord[];
  /** Runs whose entries go. */
  remove?: string[];
}

/**
 * Applies a change to the index, read-modify-write with a conditional PUT, retried (with a random
 * backoff) while other writers get there first. True when the index holds the change; false
 * after UPDATE_ATTEMPTS lost races. Entries that fail the checks are dropped on the way.
 */
export async function updateRemoteRunIndex(remote: S3Store, change: IndexChange): Promise<boolean> {
  for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
    const current = await readRemoteRunIndex(remote);
    if (current.unreadable) return false;
    const next = new Map(current.runs);
    for (const id of change.remove ?? []) next.delete(id);
    for (const record of change.add ?? []) next.set(record.id, record);
    if (current.etag !== undefined && current.problems.length === 0 && sameEntries(current.runs, next)) return true;
    const body = Buffer.from(JSON.stringify({ v: 1, runs: Object.fromEntries([...next].sort(([a], [b]) => byRunNumber(a, b))) }));
    if (await remote.writeIfUnchanged(REMOTE_RUN_INDEX_PATH, body, current.etag)) return true;
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 20 * 2 ** attempt)));
  }
  return false;
}

/**
 * Run records on the mirror, newest first: the listing of `runs/` says which runs are there, the
 * index gives their records, and a run the index lacks (or holds a bad entry for) is read from its
 * record, 16 at a time, and added to the index (best effort: a reader without write access, or
 * one that loses a race, leaves that to the next).
 */
export async function listRemoteRunRecords(remote: S3Store, runIds: (remote: S3Store) => Promise<string[]>, enrich: (r: RunRecord) => Promise<RunRecord> = async (r) => r): Promise<{ records: RunRecord[]; read: number }> {
  const [ids, index] = await Promise.all([runIds(remote), readRemoteRunIndex(remote)]);
  const missing = ids.filter((id) => !index.runs.has(id));
  // `enrich`: what an index entry holds beyond the record (the tags of the run's tag log).
  const read = await mapLimit(missing, 16, async (id) => {
    const value = await remote.readJson(runRecordPath(id), RECORD_MAX_BYTES);
    return value === undefined ? undefined : enrich(checkRemoteRunRecord(value, `${remote.location}${runRecordPath(id)}`, id));
  });
  const found = read.filter((r): r is RunRecord => r !== undefined);
  if (found.length > 0) await addIfUnchanged(remote, index, found);
  const records = [...ids.flatMap((id) => (index.runs.has(id) ? [index.runs.get(id)!] : [])), ...found];
  return { records: records.sort((a, b) => byRunNumber(b.id, a.id)), read: missing.length };
}

/**
 * Makes sure the index holds no entry for `ids` (before their records are rewritten or deleted):
 * removed by a conditional update, or, if that keeps losing races or the document is unreadable,
 * the whole index deleted. Either way no reader can be served an entry older than the record.
 */
export async function invalidateRemoteRunIndex(remote: S3Store, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  if (!(await updateRemoteRunIndex(remote, { remove: ids }))) await remote.deleteKeys([REMOTE_RUN_INDEX_PATH]);
}

/**
 * The index entries `flow fsck --remote` reports: forged or corrupt ones, those that differ from
 * their run's record, and those of runs without a record (flowrun's writers remove an entry
 * before they delete or rewrite its record).
 */
export async function remoteRunIndexProblems(remote: S3Store, records: Map<string, RunRecord>): Promise<StoreError[]> {
  const index = await readRemoteRunIndex(remote);
  const problems = [...index.problems];
  const key = `${remote.location}${REMOTE_RUN_INDEX_PATH}`;
  const fix = '(delete the index: flow push and flow runs --remote rebuild it)';
  for (const [id, entry] of index.runs) {
    const record = records.get(id);
    if (!record) problems.push(forgedRecord(key, `its entry for ${id} names a run without a record ${fix}`));
    // An entry is the record with the run's tag log applied (flow tag): one listing per run here.
    else if (JSON.stringify(withTagLog(record, await remoteTagLog(remote, id))) !== JSON.stringify(entry)) problems.push(forgedRecord(key, `its entry for ${id} differs from ${runRecordPath(id)} ${fix}`));
  }
  return problems;
}

/** A reader's repair: one conditional write on top of the version it read; losing it is fine. */
async function addIfUnchanged(remote: S3Store, index: RemoteRunIndex, records: RunRecord[]): Promise<void> {
  const next = new Map(index.runs);
  for (const r of records) next.set(r.id, r);
  const body = Buffer.from(JSON.stringify({ v: 1, runs: Object.fromEntries([...next].sort(([a], [b]) => byRunNumber(a, b))) }));
  try {
    await remote.writeIfUnchanged(REMOTE_RUN_INDEX_PATH, body, index.etag);
  } catch {
    // No write access (a read-only key), or the mirror failed: listing does not depend on it.
  }
}

function sameEntries(a: Map<string, RunRecord>, b: Map<string, RunRecord>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, r] of b) if (!a.has(id) || JSON.stringify(a.get(id)) !== JSON.stringify(r)) return false;
  return true;
}

const byRunNumber = (a: string, b: string) => Number(a.slice(4)) - Number(b.slice(4));
