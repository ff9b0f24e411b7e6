import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FlowConfig } from '../../src/config/config.js';
import { refusal } from '../helpers/refusal.js';
import { extractGraph } from '../../src/graph/extract.js';
import { parseWith } from '../../src/graph/with.js';
import type { FlowGraph } from '../../src/graph/types.js';
import type { RunRecord, TaskRecord } from '../../src/metadata/records.js';
import { defaultOrigin, type OriginRecords } from '../../src/plan/origin.js';
import { prepareRun, resumeFrom, type RunInput } from '../../src/plan/run-plan.js';

// Unit tests of the run plan (issue #14 item 4): what flow run, flow resume, flow replay and
// flow cache verify will do, decided over in-memory graphs and records before anything runs.
// The CLI tests (test/runtime/, test/repro/, test/ux/) reach the same code through spawned runs.

function graphOf(name: string): FlowGraph {
  const file = `test/flows/${name}`;
  const { graph, errors } = extractGraph(file, readFileSync(file, 'utf8'));
  if (!graph) throw new Error(errors.map((e) => e.message).join('; '));
  return graph;
}

const squares = graphOf('foreach-squares.ts'); // @param n = 100, sleepMs = 0; start → work (foreach) → join → end
const config: FlowConfig = { store: '/project/.flow', projectRoot: '/project' };

function input(over: Partial<RunInput> = {}): RunInput {
  return { config, graph: squares, path: '/project/flows/foreach-squares.ts', paramArgv: [], maxNumSplits: 10_000, ...over };
}

function task(step: string, id: string, status: 'ok' | 'failed', over: Partial<TaskRecord> = {}): TaskRecord {
  return { schema: 'flowrun.task/1', run: 'run-1', step, id, stack: [], parents: [], status, attempts: [], artifacts: {}, logs: { stdout: '', stderr: '' }, ...over };
}

function runRecord(over: Partial<RunRecord> = {}): RunRecord {
  return {
    schema: 'flowrun.run/1',
    id: 'run-1',
    flow: squares.flow,
    file: 'flows/foreach-squares.ts',
    status: 'failed',
    params: { n: 2, sleepMs: 5 },
    seed: 42,
    tags: ['nightly'],
    started: '2026-01-01T00:00:00.000Z',
    host: 'h',
    pid: 1,
    flowrunVersion: '0.1.0',
    node: 'v20',
    git: { commit: 'abc', branch: 'main', dirty: false, remotes: {}, shallow: false, detached: false },
    steps: squares.order.map((name) => ({ name, type: squares.steps.find((s) => s.name === name)!.type })),
    ...over,
  };
}

/** run-1: start ok, work/0 ok, work/1 failed. */
function failedOrigin(): OriginRecords {
  return { record: runRecord(), tasks: { start: [task('start', '0', 'ok')], work: [task('work', '0', 'ok'), task('work', '1', 'failed')] } };
}

describe('prepareRun: flow run', () => {
  it('resolves the parameters over their defaults, attaches --with to every step and keeps the flags', () => {
    const plan = prepareRun(input({ paramArgv: ['--n', '3'], with: [parseWith('retry:times=2')], seed: 7, tags: ['a'], user: 'ada', cache: false }));
    expect(plan.params).toEqual({ n: 3, sleepMs: 0 });
    expect(plan.graph.steps.every((s) => s.decorators.some((d) => d.name === 'retry' && d.options.times === 2))).toBe(true);
    expect(squares.steps.some((s) => s.decorators.some((d) => d.name === 'retry'))).toBe(false); // the input graph is left as it was
    expect(plan).toMatchObject({ seed: 7, tags: ['a'], user: 'ada', cache: false, maxNumSplits: 10_000, path: '/project/flows/foreach-squares.ts' });
    expect(plan.origin ?? plan.replay ?? plan.reuse ?? plan.seedFor).toBeUndefined();
  });

  it('a bad parameter is a usage error (exit 2) thrown by the plan, before anything is written', () => {
    const e = refusal(() => prepareRun(input({ paramArgv: ['--n', 'ten'] })));
    expect([e.code, e.exitCode]).toEqual(['PARAM_TYPE', 2]);
    expect(refusal(() => prepareRun(input({ paramArgv: ['--m', '1'] }))).code).toBe('PARAM_UNKNOWN');
  });

  it('the same inputs give the same plan (nothing is drawn or read: the seed is left for the run to draw)', () => {
    const a = prepareRun(input({ paramArgv: ['--n', '3'] }));
    expect(prepareRun(input({ paramArgv: ['--n', '3'] }))).toEqual(a);
    expect(a.seed).toBeUndefined();
  });
});

describe('resumeFrom: flow resume', () => {
  it("runs with the origin's params, seed and inputs, and reuses its successful tasks", () => {
    const includes = { data: { path: 'd.csv', hash: 'f'.repeat(64), size: 1, binary: false } };
    const origin = failedOrigin();
    origin.record.includes = includes;
    const { plan, resume } = resumeFrom(prepareRun(input({ tags: ['b'] })), origin, undefined);
    expect(plan.params).toEqual({ n: 2, sleepMs: 5 });
    expect(plan.seed).toBe(42);
    expect(plan.includes).toEqual(includes);
    expect(plan.tags).toEqual(['b']); // the resume's own tags, not the origin's
    expect(resume.step).toBe('work');
    expect(plan.origin).toMatchObject({ run: 'run-1', step: 'work', commit: 'abc' });
    expect([...plan.origin!.reuse.keys()]).toEqual(['start/0', 'work/0']);
  });

  it("needs none of the flow's required parameters: they are the origin's", () => {
    const typed = graphOf('messages/typed-params.ts'); // @param label is required
    expect(refusal(() => prepareRun(input({ graph: typed }))).code).toBe('PARAM_REQUIRED');
    const base = prepareRun(input({ graph: typed, resuming: true }));
    const record = runRecord({ flow: typed.flow, params: { label: 'cats' }, steps: typed.order.map((name) => ({ name, type: typed.steps.find((s) => s.name === name)!.type })) });
    const { plan } = resumeFrom(base, { record, tasks: { start: [task('start', '0', 'ok')] } }, undefined);
    expect(plan.params).toEqual({ label: 'cats' });
  });

  it('--step reruns from that step; a run of another flow is refused', () => {
    const { plan } = resumeFrom(prepareRun(input()), failedOrigin(), 'start');
    expect([...plan.origin!.reuse.keys()]).toEqual([]);
    const other = failedOrigin();
    other.record.flow = 'OtherFlow';
    expect(refusal(() => resumeFrom(prepareRun(input()), other, undefined)).code).toBe('RESUME_GRAPH_MISMATCH');
  });
});

describe('prepareRun: flow replay and flow cache verify', () => {
  const seeded = (): OriginRecords => {
    const o = failedOrigin();
    const attempt = (n: number, seed: string) => ({ attempt: n, started: 't', finished: 't', durationMs: 1, status: 'ok' as const, seed });
    o.tasks = { start: [task('start', '0', 'ok', { attempts: [attempt(0, 'a'.repeat(32))] })], work: [task('work', '0', 'ok', { attempts: [attempt(0, 'b'.repeat(32)), attempt(1, 'c'.repeat(32))], cachedFrom: 'run-0/work/0' }), task('work', '1', 'ok')] };
    return o;
  };

  it("repeats the origin's params, seed, inputs and environments, from its code package, without the step cache", () => {
    const plan = prepareRun(input({ tags: ['r'], replay: { origin: seeded(), cwd: '/tmp/replay/.' } }));
    expect(plan.params).toEqual({ n: 2, sleepMs: 5 });
    expect(plan).toMatchObject({ seed: 42, includes: {}, cache: false, cwd: '/tmp/replay/.', tags: ['r'] });
    expect(plan.replay).toEqual({ of: 'run-1', git: runRecord().git });
    // Each task's first attempt draws from the seed the origin's last attempt recorded.
    expect(plan.seedFor?.('work', '0', 0)).toBe('c'.repeat(32));
    expect(plan.seedFor?.('start', '0', 0)).toBe('a'.repeat(32));
    expect(plan.seedFor?.('work', '1', 0)).toBeUndefined();
    expect(plan.reuse).toBeUndefined();
  });

  it('parameters given to a replay make it a what-if that records them', () => {
    const plan = prepareRun(input({ paramArgv: ['--n', '4'], replay: { origin: seeded(), cwd: '/tmp/r' } }));
    expect(plan.params).toEqual({ n: 4, sleepMs: 5 });
    expect(plan.replay?.whatIf).toEqual({ n: 4 });
  });

  it('cache verify takes the tasks that did not come from the cache as they are, and says what it is in its tags', () => {
    const plan = prepareRun(input({ replay: { origin: seeded(), cwd: '/tmp/r', cachedOnly: true } }));
    expect([...plan.reuse!.clone.keys()].sort()).toEqual(['start/0', 'work/1']);
    expect([...plan.reuse!.handOn.keys()].sort()).toEqual(['start/0', 'work/0', 'work/1']);
    expect(plan.tags).toEqual(['cache-verify']);
  });
});

describe('defaultOrigin', () => {
  const runs = (...specs: Array<Partial<RunRecord>>) => specs.map((s, i) => runRecord({ id: `run-${specs.length - i}`, user: 'ada', ...s }));

  it("is the user's latest failed or interrupted run that no run has resumed", () => {
    expect(defaultOrigin(runs({ status: 'ok' }, { status: 'interrupted' }, { status: 'failed' }), squares.flow, 'ada', 'f.ts')).toBe('run-2');
    expect(defaultOrigin(runs({ status: 'ok', origin: { run: 'run-2', step: 'work' } }, { status: 'failed' }, { status: 'failed' }), squares.flow, 'ada', 'f.ts')).toBe('run-1');
  });

  it('is RESUME_NOTHING (exit 2) when every failed run was resumed, naming the run that did', () => {
    const e = refusal(() => defaultOrigin(runs({ status: 'ok', origin: { run: 'run-1', step: 'work' } }, { status: 'failed' }), squares.flow, 'ada', 'f.ts'));
    expect([e.code, e.exitCode]).toEqual(['RESUME_NOTHING', 2]);
    expect(e.message).toContain('resumed by run-2 (ok)');
    expect(refusal(() => defaultOrigin([], squares.flow, 'ada', 'f.ts')).message).toBe(`There is no run of ${squares.flow} by ada to resume.`);
  });
});
