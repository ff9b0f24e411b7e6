import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Flow } from '../../src/client/client.js';
import { runRecordPath, type RunRecord } from '../../src/metadata/records.js';
import { LocalStore } from '../../src/store/local.js';
import { RUN_INDEX_PATH } from '../../src/store/run-index.js';
import { tempDir } from '../helpers/cli.js';

function record(n: number, flow: string, status: RunRecord['status'], pid = 1): RunRecord {
  return {
    schema: 'flowrun.run/1',
    id: `run-${n}`,
    flow,
    file: 'f.ts',
    status,
    params: {},
    seed: n,
    tags: [],
    started: '2026-01-01T00:00:00.000Z',
    host: hostname(),
    pid,
    flowrunVersion: '0',
    node: 'v20',
    steps: [{ name: 'start', type: 'linear' }],
    git: null,
  };
}

/** A pid no process has (far above pid_max): a "running" record with it was left by a killed run. */
const GONE = 2 ** 30;

/** Flow.latestRun/latestSuccessfulRun against the listing they must agree with, on a store of `runs`. */
async function check(runs: Array<{ flow: string; status: RunRecord['status']; gone?: boolean } | 'claim'>): Promise<void> {
  const root = join(tempDir('flowrun-latest-'), 'store');
  const store = LocalStore.open(root);
  runs.forEach((r, i) => {
    if (r === 'claim')
      mkdirSync(join(root, 'runs', `run-${i + 1}`), { recursive: true }); // an id claimed, no record yet
    else store.writeRecordSync(runRecordPath(`run-${i + 1}`), record(i + 1, r.flow, r.status, r.gone ? GONE : process.pid));
  });
  for (const name of ['A', 'B', 'C']) {
    const flow = Flow.get(name, { store: root });
    const all = await flow.runs();
    expect((await flow.latestRun())?.record, `latestRun ${name}`).toEqual(all[0]?.record);
    expect((await flow.latestSuccessfulRun())?.record, `latestSuccessfulRun ${name}`).toEqual(all.find((r) => r.successful)?.record);
  }
}

describe('Flow.latestRun / latestSuccessfulRun: newest-first reads, the same answer as the listing', () => {
  it('reads only the newest records it needs, not every run (no run index built)', async () => {
    const root = join(tempDir('flowrun-latest-'), 'store');
    const store = LocalStore.open(root);
    for (let n = 1; n <= 200; n++) store.writeRecordSync(runRecordPath(`run-${n}`), record(n, n % 2 ? 'A' : 'B', n === 200 ? 'failed' : 'ok'));
    const flow = Flow.get('B', { store: root });
    const reads: string[] = [];
    const read = flow.store.readRecordSync.bind(flow.store);
    flow.store.readRecordSync = <T>(path: string): T | undefined => {
      reads.push(path);
      return read<T>(path);
    };
    expect((await flow.latestSuccessfulRun())?.id).toBe('run-198');
    expect(reads).toEqual([runRecordPath('run-200'), runRecordPath('run-199'), runRecordPath('run-198')]);
    expect(existsSync(join(root, RUN_INDEX_PATH))).toBe(false);
  });

  it('agrees with runs() for the edge cases: a killed "running" run, claims without a record, other flows, no match, more non-matching runs than it scans', async () => {
    await check([{ flow: 'A', status: 'ok' }, { flow: 'A', status: 'running', gone: true }, 'claim', { flow: 'B', status: 'failed' }]);
    await check([
      { flow: 'A', status: 'running' },
      { flow: 'A', status: 'ok' },
      { flow: 'C', status: 'running', gone: true },
    ]);
    await check([{ flow: 'A', status: 'ok' }, ...Array.from({ length: 40 }, () => ({ flow: 'B', status: 'ok' as const }))]);
    await check([{ flow: 'A', status: 'ok' }, ...Array.from({ length: 40 }, () => ({ flow: 'A', status: 'failed' as const }))]);
    await check([]);
  });

  it('any store of runs of three flows: the same answer as the listing', async () => {
    const run = fc.oneof(fc.record({ flow: fc.constantFrom('A', 'B', 'C'), status: fc.constantFrom<RunRecord['status']>('ok', 'failed', 'running', 'interrupted'), gone: fc.boolean() }), fc.constant('claim' as const));
    await fc.assert(fc.asyncProperty(fc.array(run, { maxLength: 45 }), check), { numRuns: 25 });
  });

  it('a corrupt record among the newest is still an error naming its file', async () => {
    const root = join(tempDir('flowrun-latest-'), 'store');
    const store = LocalStore.open(root);
    store.writeRecordSync(runRecordPath('run-1'), record(1, 'A', 'ok'));
    mkdirSync(join(root, 'runs', 'run-2'), { recursive: true });
    writeFileSync(join(root, runRecordPath('run-2')), '{"schema":"flowrun.run/1"}');
    await expect(Flow.get('A', { store: root }).latestSuccessfulRun()).rejects.toThrow(/run-2\/run.json has a missing or malformed field "id"/);
  });
});
