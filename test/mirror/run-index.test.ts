import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushRun, RemoteInventory } from '../../src/mirror/push.js';
import { pushRuns, listRemoteRuns } from '../../src/mirror/sync.js';
import { runRecordPath, taskRecordPath, type RunRecord, type TaskRecord } from '../../src/metadata/records.js';
import { fsck } from '../../src/store/fsck.js';
import { LocalStore } from '../../src/store/local.js';
import { S3Store } from '../../src/store/s3.js';
import { invalidateRemoteRunIndex, readRemoteRunIndex, REMOTE_RUN_INDEX_PATH, updateRemoteRunIndex } from '../../src/store/s3-run-index.js';
import { tempDir } from '../helpers/cli.js';
import { startS3Server, type S3TestServer } from '../helpers/s3.js';

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => server?.stop());

const requests = async () => Object.values(await server.stats()).reduce((a, b) => a + b, 0);

function runRecord(id: string, tags: string[] = []): RunRecord {
  return {
    schema: 'flowrun.run/1',
    id,
    flow: 'F',
    file: 'f.ts',
    status: 'ok',
    params: {},
    seed: 1,
    tags,
    started: '2026-01-01T00:00:00.000Z',
    host: 'h',
    pid: 1,
    flowrunVersion: '0',
    node: 'v20',
    steps: [{ name: 'start', type: 'linear' }],
    git: null,
  };
}

/** A local store holding finished one-task runs with the given numbers. */
function localRuns(numbers: number[]): LocalStore {
  const store = LocalStore.open(join(tempDir('flowrun-mirror-index-'), 'store'));
  const logs = store.putObjectSync(Buffer.alloc(0));
  for (const n of numbers) {
    const id = `run-${n}`;
    const task: TaskRecord = {
      schema: 'flowrun.task/1',
      run: id,
      step: 'start',
      id: '0',
      stack: [],
      parents: [],
      status: 'ok',
      attempts: [{ attempt: 0, started: '2026-01-01T00:00:00.000Z', finished: '2026-01-01T00:00:00.000Z', durationMs: 1, status: 'ok' }],
      artifacts: { v: { hash: store.putObjectSync(Buffer.from(`{"fra":1,"v":${n}}`)), size: 12 } },
      logs: { stdout: logs, stderr: logs },
    };
    store.writeRecordSync(taskRecordPath(id, 'start', '0'), task);
    store.writeRecordSync(runRecordPath(id), runRecord(id));
  }
  return store;
}

const ids = (records: RunRecord[]) => records.map((r) => r.id);

describe("the mirror's run index", () => {
  it('flow runs --remote is 3 requests for 30 pushed runs (FORMAT, one listing, the index), and lists what the records hold', async () => {
    const loc = await server.location();
    const local = localRuns(Array.from({ length: 30 }, (_, i) => i + 1));
    await pushRuns(local, await S3Store.open(loc), []);
    await server.resetStats();
    const listed = await listRemoteRuns(await S3Store.open(loc));
    expect(await requests()).toBeLessThanOrEqual(3);
    expect(ids(listed)).toEqual(Array.from({ length: 30 }, (_, i) => `run-${30 - i}`));
    const mirror = await S3Store.open(loc);
    for (const r of listed) expect(r).toEqual(await mirror.readRecord(runRecordPath(r.id)));
  });

  it('a mirror without an index is listed from its records, and that listing writes the index for the next', async () => {
    const loc = await server.location();
    const mirror = await S3Store.open(loc);
    for (let n = 1; n <= 12; n++) await mirror.writeRecord(runRecordPath(`run-${n}`), runRecord(`run-${n}`));
    await server.resetStats();
    expect(ids(await listRemoteRuns(await S3Store.open(loc)))).toHaveLength(12);
    expect(await requests()).toBeGreaterThan(12);
    await server.resetStats();
    expect(ids(await listRemoteRuns(await S3Store.open(loc)))).toHaveLength(12);
    expect(await requests()).toBeLessThanOrEqual(3);
  });

  it('concurrent writers lose no run: 16 machines adding entries at once, and 4 concurrent pushes', async () => {
    const loc = await server.location();
    const writers = await Promise.all(Array.from({ length: 16 }, () => S3Store.open(loc)));
    const results = await Promise.all(writers.map((w, i) => updateRemoteRunIndex(w, { add: [runRecord(`run-${i + 1}`)] })));
    expect(results.every(Boolean)).toBe(true);
    expect([...(await readRemoteRunIndex(writers[0]!)).runs.keys()].sort()).toEqual(Array.from({ length: 16 }, (_, i) => `run-${i + 1}`).sort());

    const loc2 = await server.location();
    const machines = [0, 1, 2, 3].map((m) => localRuns([1, 2, 3, 4, 5].map((k) => m * 5 + k)));
    await Promise.all(machines.map(async (local) => pushRuns(local, await S3Store.open(loc2), [])));
    const index = await readRemoteRunIndex(await S3Store.open(loc2));
    expect(index.runs.size).toBe(20);
    expect(ids(await listRemoteRuns(await S3Store.open(loc2)))).toHaveLength(20);
  });

  it('a record rewritten on the mirror is never served from an older entry: push removes the entry first; an entry removed is read from the record', async () => {
    const loc = await server.location();
    const local = localRuns([1, 2]);
    await pushRuns(local, await S3Store.open(loc), []);
    local.writeRecordSync(runRecordPath('run-1'), runRecord('run-1', ['retagged']));
    await pushRuns(local, await S3Store.open(loc), ['run-1']);
    const mirror = await S3Store.open(loc);
    expect((await listRemoteRuns(mirror)).find((r) => r.id === 'run-1')!.tags).toEqual(['retagged']);
    expect((await readRemoteRunIndex(mirror)).runs.get('run-1')!.tags).toEqual(['retagged']);

    // A push killed after it rewrote the record, before it re-added the entry (pushRun alone):
    // the old entry is already gone, so the record is read.
    local.writeRecordSync(runRecordPath('run-2'), runRecord('run-2', ['changed']));
    await pushRun(local, mirror, 'run-2', await RemoteInventory.read(mirror));
    expect((await readRemoteRunIndex(mirror)).runs.has('run-2')).toBe(false);
    expect((await listRemoteRuns(await S3Store.open(loc))).find((r) => r.id === 'run-2')!.tags).toEqual(['changed']);

    await invalidateRemoteRunIndex(mirror, ['run-1']);
    expect((await readRemoteRunIndex(mirror)).runs.has('run-1')).toBe(false);
  });

  it('forged entries are refused (the run is read from its record), entries of runs the listing lacks are not listed, and fsck --remote reports them', async () => {
    const loc = await server.location();
    const local = localRuns([1, 2]);
    await pushRuns(local, await S3Store.open(loc), []);
    const mirror = await S3Store.open(loc);
    const doc = {
      v: 1,
      runs: {
        'run-1': { ...runRecord('run-1'), file: '../../outside.ts' },
        'run-2': { ...runRecord('run-2'), tags: ['not', 'what', 'the', 'record', 'says'] },
        'run-9': runRecord('run-9'),
        '../evil': runRecord('run-3'),
      },
    };
    await mirror.writeIfUnchanged(REMOTE_RUN_INDEX_PATH, Buffer.from(JSON.stringify(doc)), (await mirror.readVersioned(REMOTE_RUN_INDEX_PATH, 1 << 20))!.etag);
    const report = await fsck(await S3Store.open(loc));
    const messages = report.problems
      .filter((p) => p.subject.includes(REMOTE_RUN_INDEX_PATH))
      .map((p) => p.message)
      .join('\n');
    expect(messages).toMatch(/entry "run-1".*not a path inside the project/);
    expect(messages).toMatch(/"\.\.\/evil" is not a run id/);
    expect(messages).toMatch(/entry for run-2 differs from runs\/run-2\/run.json/);
    expect(messages).toMatch(/entry for run-9 names a run without a record/);

    const listed = await listRemoteRuns(await S3Store.open(loc));
    expect(ids(listed)).toEqual(['run-2', 'run-1']);
    expect(listed.find((r) => r.id === 'run-1')!.file).toBe('f.ts');
    // The listing put run-1's record in place of the forged entry.
    expect((await readRemoteRunIndex(await S3Store.open(loc))).runs.get('run-1')!.file).toBe('f.ts');
  });

  it('an index that is not one is refused; the runs are read from their records and the next update replaces it', async () => {
    const loc = await server.location();
    await pushRuns(localRuns([1]), await S3Store.open(loc), []);
    const mirror = await S3Store.open(loc);
    await mirror.writeIfUnchanged(REMOTE_RUN_INDEX_PATH, Buffer.from('["not", "an", "index"]'), (await mirror.readVersioned(REMOTE_RUN_INDEX_PATH, 1 << 20))!.etag);
    expect(ids(await listRemoteRuns(await S3Store.open(loc)))).toEqual(['run-1']);
    const index = await readRemoteRunIndex(await S3Store.open(loc));
    expect(index.problems).toEqual([]);
    expect([...index.runs.keys()]).toEqual(['run-1']);
  });
});
