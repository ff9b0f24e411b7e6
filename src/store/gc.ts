import { withLiveness } from '../metadata/liveness.js';
import { isFlowError, StoreError, UsageError } from '../errors/index.js';
import { runRecordPath, type RunRecord, type TaskRecord } from '../metadata/records.js';
import { checkRunRecord, checkTaskRecord, summaryMismatch } from '../metadata/record-check.js';
import { type GcStore, type GcUnit as Unit, isCollectable, objectIdsIn, objectIdsInBytes } from './types.js';
import { pruneCacheEntries } from './gc-cache.js';

/** Objects (and packs) younger than this are never deleted: a run in progress may need them. */
export const GC_GRACE_MS = 60 * 60 * 1000;

export interface GcOptions {
  /** Keep the newest N runs of each flow (plus every run still running). */
  keepLast?: number;
  /** Keep exactly these runs (plus every run still running). */
  keep?: string[];
  dryRun: boolean;
  graceMs?: number;
  now?: Date;
}

export interface GcReport {
  schema: 'flowrun.gc/1';
  store: string;
  dryRun: boolean;
  keptRuns: string[];
  deletedRuns: string[];
  deletedObjects: number;
  deletedBytes: number;
  /** Unreferenced but younger than the grace period. */
  protectedRecent: number;
  /** S3: packs kept because some of their objects are still referenced. */
  partialPacks: number;
  /** S3: unreferenced units seen for the first time; a gc at least the grace period later deletes them. */
  awaitingSecondPass: number;
  /** Local: symlinks found where objects or shards belong; gc never follows or deletes them. */
  skippedSymlinks: string[];
  /** Step cache entries (local) or bundles and entries (S3) dropped with their runs. */
  deletedCacheEntries: number;
}

/**
 * S3 only: when each unreferenced unit was first seen unreferenced. A unit is deleted only when a
 * gc finds it still unreferenced a grace period after an earlier gc did (mark, then sweep), so a
 * push from another machine that started relying on an old object in between (it skipped the
 * upload because the object was there) makes it referenced before it can go. Local stores do not
 * need this: there a dedup hit refreshes the object's time.
 */
interface GcPending {
  v: 1;
  since: Record<string, string>;
}
const PENDING = 'gc/pending.json';

/**
 * Deletes runs that are not kept and then every object no kept run references, never touching
 * a run still running or anything written within the grace period (a run in progress writes
 * objects before the records naming them, and a dedup hit refreshes an object's time).
 * Records go first, so no remaining record ever names a deleted object.
 */
export async function collectGarbage(store: GcStore, opts: GcOptions): Promise<GcReport> {
  if (opts.keepLast !== undefined && opts.keep?.length) throw new UsageError('GC_OPTIONS', '--keep-last and --keep cannot be combined.', { fix: 'Use one of them.' });
  const now = opts.now ?? new Date();
  const grace = opts.graceMs ?? GC_GRACE_MS;
  const ids = (await store.listRecords('runs')).filter((n) => /^run-\d+$/.test(n)).sort((a, b) => Number(b.slice(4)) - Number(a.slice(4)));
  const records = new Map<string, RunRecord | undefined>();
  for (const id of ids) records.set(id, await store.readRecord<RunRecord>(runRecordPath(id)));
  const live = (id: string) => {
    const r = records.get(id);
    // No run record yet: a run that has just claimed its id. Keep it.
    return !r || (isCollectable(store) ? withLiveness(r) : r).status === 'running';
  };
  for (const id of opts.keep ?? []) if (!records.has(id)) throw new UsageError('RUN_NOT_FOUND', `--keep ${id}: there is no such run in ${store.location}.`, { fix: 'flow runs lists the runs.' });
  const wanted = opts.keep?.length ? new Set(opts.keep) : opts.keepLast !== undefined ? newestPerFlow(ids, records, opts.keepLast) : new Set(ids);
  const keptRuns = ids.filter((id) => wanted.has(id) || live(id));
  const deletedRuns = ids.filter((id) => !keptRuns.includes(id));

  const referenced = new Set<string>();
  for (const id of keptRuns) for (const h of await runReferences(store, id)) referenced.add(h);

  const report: GcReport = { schema: 'flowrun.gc/1', store: store.location, dryRun: opts.dryRun, keptRuns, deletedRuns, deletedObjects: 0, deletedBytes: 0, protectedRecent: 0, partialPacks: 0, awaitingSecondPass: 0, skippedSymlinks: [], deletedCacheEntries: 0 };
  const pending = isCollectable(store) ? undefined : ((await store.readRecord<GcPending>(PENDING))?.since ?? {});
  const nextPending: Record<string, string> = {};
  const doomed: Unit[] = [];
  for await (const unit of listUnits(store, report.skippedSymlinks)) {
    const used = unit.hashes.filter((h) => referenced.has(h)).length;
    if (used === unit.hashes.length && unit.hashes.length > 0) continue;
    if (used > 0) {
      report.partialPacks++;
      continue;
    }
    if (now.getTime() - unit.modified.getTime() < grace) {
      report.protectedRecent++;
      continue;
    }
    if (pending) {
      const firstSeen = pending[unit.id] ?? now.toISOString();
      if (now.getTime() - Date.parse(firstSeen) < grace) {
        nextPending[unit.id] = firstSeen;
        report.awaitingSecondPass++;
        continue;
      }
    }
    doomed.push(unit);
  }
  report.deletedObjects = doomed.reduce((n, u) => n + Math.max(1, u.hashes.length), 0);
  report.deletedBytes = doomed.reduce((n, u) => n + u.size, 0);
  // A run is gone when gc deletes it or it was deleted before; one newer than the listing is not.
  const newest = ids.length ? Number(ids[0]!.slice(4)) : 0;
  const gone = (run: string) => deletedRuns.includes(run) || (!records.has(run) && Number(run.slice(4)) <= newest);
  if (opts.dryRun) {
    report.deletedCacheEntries = await pruneCacheEntries(store, gone, true);
    return report;
  }
  // Entries go before their runs: none is left naming a run whose objects may be deleted.
  report.deletedCacheEntries = await pruneCacheEntries(store, gone, false);
  await deleteRuns(store, deletedRuns);
  await deleteUnits(store, doomed);
  if (pending) await store.writeRecord(PENDING, { v: 1, since: nextPending } satisfies GcPending);
  return report;
}

/**
 * The newest `n` runs of each flow (ids newest first): a flow run once a month keeps its runs
 * while another is run hourly. Replays and resumes count as runs of their flow.
 */
function newestPerFlow(ids: string[], records: Map<string, RunRecord | undefined>, n: number): Set<string> {
  const kept = new Set<string>();
  const perFlow = new Map<string, number>();
  for (const id of ids) {
    const flow = records.get(id)?.flow;
    if (flow === undefined) continue; // no record yet: kept as live anyway
    const seen = perFlow.get(flow) ?? 0;
    if (seen < n) kept.add(id);
    perFlow.set(flow, seen + 1);
  }
  return kept;
}

/**
 * Every object id a kept run's records name, plus the binary parts its artifacts name. Fail safe:
 * a record of the run that cannot be read (corrupt, truncated, forged on a mirror, or missing
 * by its summary) stops gc before it deletes anything, naming the record, since what that
 * record references cannot be known. A missing artifact object only hides parts nobody can
 * read any more; a corrupt one stops gc too.
 */
async function runReferences(store: GcStore, id: string): Promise<Set<string>> {
  const out = new Set<string>();
  const add = (text: string) => {
    for (const h of objectIdsIn(text)) out.add(h);
  };
  const { run, tasks } = await keptRecords(store, id);
  add(JSON.stringify(run ?? null));
  const artifacts = new Set<string>();
  for (const t of tasks) {
    add(JSON.stringify(t));
    for (const ref of Object.values(t.artifacts)) artifacts.add(ref.hash);
  }
  for (const hash of artifacts) {
    let bytes: Buffer | undefined;
    try {
      bytes = await store.getObject(hash);
    } catch (e) {
      if (!(isFlowError(e) && e.code === 'STORE_MISSING_OBJECT')) throw stopped(e, id);
    }
    if (bytes) for (const h of objectIdsInBytes(bytes)) out.add(h);
  }
  return out;
}

async function keptRecords(store: GcStore, id: string): Promise<{ run: RunRecord | undefined; tasks: TaskRecord[] }> {
  try {
    if (!isCollectable(store)) {
      const { run, tasks } = await store.readRunForGc(id);
      checkSummary(run, tasks);
      return { run, tasks };
    }
    const raw = await store.readRecord<unknown>(runRecordPath(id));
    const run = raw === undefined ? undefined : checkRunRecord(raw, `${store.location}/${runRecordPath(id)}`);
    const tasks: TaskRecord[] = [];
    for (const step of await store.listRecords(`runs/${id}/tasks`)) {
      for (const file of await store.listRecords(`runs/${id}/tasks/${step}`)) {
        const path = `runs/${id}/tasks/${step}/${file}`;
        const t = await store.readRecord<unknown>(path);
        if (t !== undefined) tasks.push(checkTaskRecord(t, `${store.location}/${path}`));
      }
    }
    checkSummary(run, tasks);
    return { run, tasks };
  } catch (e) {
    throw stopped(e, id);
  }
}

function checkSummary(run: RunRecord | undefined, tasks: TaskRecord[]): void {
  const mismatch = run ? summaryMismatch(run, tasks) : undefined;
  if (mismatch) throw new StoreError('STORE_SUMMARY_MISMATCH', `${mismatch} A task record is missing.`, { file: runRecordPath(run!.id) });
}

/** An unreadable record of a kept run: gc stops, having deleted nothing. */
function stopped(e: unknown, id: string): unknown {
  if (!isFlowError(e) || !(e instanceof StoreError)) return e;
  return new StoreError(e.code, `${e.message} gc deleted nothing: it keeps ${id} but cannot tell what that record references.`, {
    file: e.location.file,
    fix: `Restore the record (flow pull, or a copy of the store), or let gc delete ${id} (leave it out of --keep / --keep-last); flow fsck lists the damage.`,
  });
}

async function* listUnits(store: GcStore, symlinks: string[]): AsyncIterable<Unit> {
  if (isCollectable(store)) yield* store.gcUnits(symlinks);
  else yield* store.listGcUnits();
}

async function deleteRuns(store: GcStore, runs: string[]): Promise<void> {
  if (runs.length === 0) return;
  if (isCollectable(store)) for (const id of runs) store.deleteRun(id);
  else await store.deleteRuns(runs);
}

async function deleteUnits(store: GcStore, units: Unit[]): Promise<void> {
  if (isCollectable(store)) for (const u of units) store.deleteUnit(u);
  else await store.deleteUnits(units);
}
