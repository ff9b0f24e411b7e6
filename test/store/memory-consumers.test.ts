import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { Run } from '../../src/client/client.js';
import { listRuns } from '../../src/client/list-runs.js';
import { isFlowError } from '../../src/errors/index.js';
import { cacheEntryPath, runRecordPath, type RunRecord, type TaskRecord, taskRecordPath } from '../../src/metadata/records.js';
import { fsck } from '../../src/store/fsck.js';
import { collectGarbage } from '../../src/store/gc.js';
import { MemoryStore } from '../../src/store/memory.js';
import { saveArtifact } from '../../src/task/artifacts.js';
import type { GcRunRecords, GcUnit, TwoPassCollectable } from '../../src/store/types.js';

/**
 * Consumers of the store on a MemoryStore, through the Store/SyncStore/Collectable interfaces
 * alone: gc, fsck and the client run here in milliseconds, with no directory, where they needed
 * a LocalStore on disk before.
 */

const LATER = () => new Date(Date.now() + 2 * 3600_000);

/** A finished run of one `start` task whose artifacts are `values`, written as the scheduler writes it. */
function seedRun(store: MemoryStore, n: number, values: Record<string, unknown>, status: RunRecord['status'] = 'ok', live: Partial<RunRecord> = {}): TaskRecord {
  const run = `run-${n}`;
  const artifacts = Object.fromEntries(Object.entries(values).map(([name, v]) => [name, saveArtifact(store, v, 'start', name)]));
  const log = store.putObjectSync(Buffer.alloc(0));
  const task: TaskRecord = {
    schema: 'flowrun.task/1',
    run,
    step: 'start',
    id: '0',
    stack: [],
    parents: [],
    status: 'ok',
    attempts: [{ attempt: 0, status: 'ok', logs: { stdout: log, stderr: log } }] as TaskRecord['attempts'],
    artifacts,
    logs: { stdout: log, stderr: log },
  };
  store.writeRecordSync(taskRecordPath(run, 'start', '0'), task);
  const record: RunRecord = {
    schema: 'flowrun.run/1',
    id: run,
    flow: 'F',
    file: 'f.ts',
    status,
    params: {},
    seed: n,
    tags: [],
    started: `2026-01-0${n}T00:00:00.000Z`,
    host: 'elsewhere',
    pid: 1,
    flowrunVersion: '0',
    node: 'v20',
    steps: [{ name: 'start', type: 'end' }],
    git: null,
    ...(status === 'running' ? {} : { summary: { start: { tasks: 1, ok: 1, failed: 0 } } as RunRecord['summary'] }),
    ...live,
  };
  store.writeRecordSync(runRecordPath(run), record, true);
  return task;
}

const k = (c: string) => c.repeat(64);

describe('gc on a MemoryStore', () => {
  it('keeps the newest run and what it shares, deletes the old run, its own objects, garbage and its cache entries', async () => {
    const store = new MemoryStore();
    const old = seedRun(store, 1, { mine: 'only in run-1', shared: [1, 2, 3] });
    const kept = seedRun(store, 2, { theirs: 'only in run-2', shared: [1, 2, 3] });
    const garbage = store.putObjectSync(Buffer.from('named by nothing'));
    store.writeRecordSync(cacheEntryPath(k('a'), k('b')), { run: 'run-1' });
    store.writeRecordSync(cacheEntryPath(k('c'), k('d')), { run: 'run-2' });

    const dry = await collectGarbage(store, { keepLast: 1, dryRun: true, now: LATER() });
    expect(dry).toMatchObject({ keptRuns: ['run-2'], deletedRuns: ['run-1'], deletedObjects: 2, deletedCacheEntries: 1 });
    expect(store.listRecordsSync('runs')).toEqual(['run-1', 'run-2']);
    expect(store.hasObjectSync(garbage)).toBe(true);

    const report = await collectGarbage(store, { keepLast: 1, dryRun: false, now: LATER() });
    expect(report).toMatchObject({ deletedRuns: ['run-1'], deletedObjects: 2, protectedRecent: 0, awaitingSecondPass: 0, deletedCacheEntries: 1 });
    expect(store.listRecordsSync('runs')).toEqual(['run-2']);
    expect(store.readRecordSync(runRecordPath('run-1'))).toBeUndefined();
    expect([store.hasObjectSync(old.artifacts.mine!.hash), store.hasObjectSync(garbage)]).toEqual([false, false]);
    expect(store.hasObjectSync(kept.artifacts.shared!.hash) && store.hasObjectSync(kept.artifacts.theirs!.hash)).toBe(true);
    expect(store.listRecordsSync('cache')).toEqual([k('c')]);
    // What is left is whole: fsck finds nothing wrong and the kept run still reads.
    expect(await fsck(store)).toMatchObject({ runs: 1, tasks: 1, problems: [] });
    expect(await (await Run.open(store, 'run-2')).artifact('theirs')).toBe('only in run-2');
  });

  it('deletes nothing written within the grace period, and never a run still running on this machine', async () => {
    const store = new MemoryStore();
    seedRun(store, 1, { a: 'first' }, 'running', { host: hostname(), pid: process.pid });
    seedRun(store, 2, { b: 'second' });
    store.putObjectSync(Buffer.from('fresh garbage'));
    const report = await collectGarbage(store, { keepLast: 1, dryRun: false });
    expect(report).toMatchObject({ keptRuns: ['run-2', 'run-1'], deletedRuns: [], deletedObjects: 0, protectedRecent: 1 });
    // Past the grace period the garbage goes; the running run and its objects still stay.
    const later = await collectGarbage(store, { keepLast: 1, dryRun: true, now: LATER() });
    expect(later).toMatchObject({ keptRuns: ['run-2', 'run-1'], deletedObjects: 1, protectedRecent: 0 });
  });
});

/**
 * A store shared between machines, held in memory: it declares two-pass collection, as S3 does.
 * Its memory could be collected in one pass; gc must go by the declaration, not by what it finds.
 */
class SharedMemoryStore implements TwoPassCollectable {
  readonly collection = 'two-pass';
  constructor(readonly mem: MemoryStore) {}
  get location() {
    return `shared:${this.mem.location}`;
  }
  putObject = (data: Uint8Array) => this.mem.putObject(data);
  getObject = (hash: string) => this.mem.getObject(hash);
  hasObject = (hash: string) => this.mem.hasObject(hash);
  listObjects = () => this.mem.listObjects();
  writeRecord = (path: string, value: unknown) => this.mem.writeRecord(path, value);
  readRecord = <T>(path: string) => this.mem.readRecord<T>(path);
  listRecords = (dir: string) => this.mem.listRecords(dir);
  createRecord = (path: string, value: unknown) => this.mem.createRecord(path, value);
  async readRunForGc(id: string): Promise<GcRunRecords> {
    const tasks = this.mem.listRecordsSync(`runs/${id}/tasks/start`).map((f) => this.mem.readRecordSync<TaskRecord>(`runs/${id}/tasks/start/${f}`)!);
    return { run: this.mem.readRecordSync<RunRecord>(runRecordPath(id)), tasks };
  }
  async *listGcUnits(): AsyncIterable<GcUnit> {
    yield* this.mem.gcUnits([]);
  }
  async deleteRuns(ids: string[]): Promise<void> {
    for (const id of ids) this.mem.deleteRun(id);
  }
  async deleteUnits(units: GcUnit[]): Promise<void> {
    for (const u of units) this.mem.deleteUnit(u);
  }
  async pruneCacheEntries(): Promise<number> {
    return 0;
  }
}

describe('gc on a store that declares two-pass collection', () => {
  it('marks unreferenced objects on the first gc and deletes them only on a gc a grace period later', async () => {
    const mem = new MemoryStore();
    const task = seedRun(mem, 1, { a: 'kept' });
    const garbage = mem.putObjectSync(Buffer.from('named by nothing'));
    const shared = new SharedMemoryStore(mem);
    const first = await collectGarbage(shared, { dryRun: false, now: LATER() });
    expect(first).toMatchObject({ keptRuns: ['run-1'], deletedObjects: 0, awaitingSecondPass: 1 });
    expect(mem.hasObjectSync(garbage)).toBe(true);
    const second = await collectGarbage(shared, { dryRun: false, now: new Date(LATER().getTime() + 2 * 3600_000) });
    expect(second).toMatchObject({ deletedObjects: 1, awaitingSecondPass: 0 });
    expect([mem.hasObjectSync(garbage), mem.hasObjectSync(task.artifacts.a!.hash)]).toEqual([false, true]);
  });
});

describe('the client on a MemoryStore', () => {
  it('lists runs (no run index without files) and reads a run, its tasks and artifacts', async () => {
    const store = new MemoryStore();
    seedRun(store, 1, { x: { nested: [1, 'two'] } });
    seedRun(store, 2, { y: 42 });
    expect((await listRuns(store)).map((r) => r.id).sort()).toEqual(['run-1', 'run-2']);
    const run = await Run.open(store, 'run-1');
    expect(await run.artifact('x')).toEqual({ nested: [1, 'two'] });
    const err = await Run.open(store, 'run-9').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isFlowError(err) && err.code).toBe('RUN_NOT_FOUND');
  });
});

describe('fsck on a MemoryStore', () => {
  it('names a corrupt artifact and a missing log with the tasks that reference them', async () => {
    const store = new MemoryStore();
    const task = seedRun(store, 1, { good: 'fine', bad: 'to be damaged' });
    store.corruptObjectForTest(task.artifacts.bad!.hash);
    store.deleteObjectForTest(task.logs.stdout);
    const report = await fsck(store);
    const byCode = Object.fromEntries(report.problems.map((p) => [p.code, p]));
    expect(byCode.STORE_CORRUPT_OBJECT).toMatchObject({ subject: task.artifacts.bad!.hash, referrers: ['run-1/start/0 bad'] });
    expect(byCode.STORE_MISSING_OBJECT).toMatchObject({ subject: task.logs.stdout });
    expect(report.problems).toHaveLength(2);
  });
});
