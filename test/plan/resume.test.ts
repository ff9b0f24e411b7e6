import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FlowError } from '../../src/errors/index.js';
import { refusal } from '../helpers/refusal.js';
import { extractGraph } from '../../src/graph/extract.js';
import type { FlowGraph } from '../../src/graph/types.js';
import type { RunRecord, TaskRecord } from '../../src/metadata/records.js';
import { type ResumeOrigin, resumePlan } from '../../src/plan/resume.js';

// Unit tests of resume planning (test/runtime/resume.test.ts reaches it through spawned runs):
// the graphs are read from the test flows' sources, the origin runs are records in memory.

function graphOf(name: string): FlowGraph {
  const file = `test/flows/${name}`;
  const { graph, errors } = extractGraph(file, readFileSync(file, 'utf8'));
  if (!graph) throw new Error(errors.map((e) => e.message).join('; '));
  return graph;
}

const linear = graphOf('linear.ts'); // start → double → describe → end
const squares = graphOf('foreach-squares.ts'); // start → work (foreach) → join → end
const branches = graphOf('branch-merge.ts'); // start → a, b → join → end

/** An origin run: per step, its tasks as `id:ok` or `id:failed` (steps not named did not run). */
function origin(graph: FlowGraph, tasks: Record<string, string[]>, over: Partial<RunRecord> = {}): ResumeOrigin {
  const records = Object.fromEntries(
    Object.entries(tasks).map(([step, list]) => [
      step,
      list.map((t): TaskRecord => {
        const [id, status] = t.split(':') as [string, 'ok' | 'failed'];
        return { schema: 'flowrun.task/1', run: 'run-1', step, id, stack: [], parents: [], status, attempts: [], artifacts: {}, logs: { stdout: '', stderr: '' } };
      }),
    ]),
  );
  const failed = Object.values(tasks)
    .flat()
    .some((t) => t.endsWith(':failed'));
  const record: RunRecord = {
    schema: 'flowrun.run/1',
    id: 'run-1',
    flow: graph.flow,
    file: graph.file,
    status: failed ? 'failed' : 'ok',
    params: {},
    seed: 1,
    tags: [],
    started: 't',
    host: 'h',
    pid: 1,
    flowrunVersion: '0.1.0',
    node: 'v20',
    git: null,
    // Like a real run record: every step of the graph, whether or not it ran.
    steps: graph.order.map((name) => ({ name, type: graph.steps.find((s) => s.name === name)!.type })),
    ...over,
  };
  return { record, tasks: records };
}

const reused = (p: { reuse: Map<string, TaskRecord> }) => [...p.reuse.keys()];

describe('resumePlan', () => {
  it('a run that failed at a middle step reruns from it and reuses what came before', () => {
    const plan = resumePlan(linear, origin(linear, { start: ['0:ok'], double: ['0:failed'] }));
    expect(plan.origin).toBe('run-1');
    expect(plan.step).toBe('double');
    expect(reused(plan)).toEqual(['start/0']);
    expect(plan.reuse.get('start/0')!.step).toBe('start');
  });

  it('--step naming an earlier step reuses only the steps before it, even of a run that finished ok', () => {
    const done = origin(linear, { start: ['0:ok'], double: ['0:ok'], describe: ['0:ok'], end: ['0:ok'] });
    expect(reused(resumePlan(linear, done, 'describe'))).toEqual(['start/0', 'double/0']);
    const fromStart = resumePlan(linear, done, 'start');
    expect(fromStart.step).toBe('start');
    expect(reused(fromStart)).toEqual([]);
    // Of a failed run too: the named step wins over the first incomplete one.
    expect(resumePlan(linear, origin(linear, { start: ['0:ok'], double: ['0:ok'], describe: ['0:failed'] }), 'double').step).toBe('double');
  });

  it('a run that finished ok, without --step, is RESUME_NOTHING (usage, exit 2) with the command to name a step', () => {
    const e = refusal(() => resumePlan(linear, origin(linear, { start: ['0:ok'], double: ['0:ok'], describe: ['0:ok'], end: ['0:ok'] })));
    expect(e.code).toBe('RESUME_NOTHING');
    expect(e.exitCode).toBe(2);
    expect(e.fix).toBe('Name a step to rerun from: flow resume test/flows/linear.ts --origin run-1 --step <step>.');
  });

  it('a foreach partly done: the splits that succeeded are reused, the failed one reruns', () => {
    const plan = resumePlan(squares, origin(squares, { start: ['0:ok'], work: ['0:ok', '1:ok', '2:failed', '3:ok'] }));
    expect(plan.step).toBe('work');
    expect(reused(plan)).toEqual(['start/0', 'work/0', 'work/1', 'work/3']);
  });

  it('an interrupted run (nothing failed, steps missing) reruns from the first step with no tasks', () => {
    const plan = resumePlan(squares, origin(squares, { start: ['0:ok'], work: ['0:ok', '1:ok'] }, { status: 'interrupted' }));
    expect(plan.step).toBe('join');
    expect(reused(plan)).toEqual(['start/0', 'work/0', 'work/1']);
  });

  it('branches and their join: a failed branch reruns, the other is reused; --step join reuses both', () => {
    const failed = resumePlan(branches, origin(branches, { start: ['0:ok'], a: ['0:ok'], b: ['0:failed'] }));
    expect(failed.step).toBe('b');
    expect(reused(failed)).toEqual(['start/0', 'a/0']);
    // Without --step every ok task is offered, also one after the failed step: b ran ok beside a.
    const other = resumePlan(branches, origin(branches, { start: ['0:ok'], a: ['0:failed'], b: ['0:ok'] }));
    expect([other.step, reused(other)]).toEqual(['a', ['start/0', 'b/0']]);
    const done = origin(branches, { start: ['0:ok'], a: ['0:ok'], b: ['0:ok'], join: ['0:ok'], end: ['0:ok'] });
    expect(reused(resumePlan(branches, done, 'join'))).toEqual(['start/0', 'a/0', 'b/0']);
  });

  it('a replay that finished ok but is listed unverified can be resumed without --step', () => {
    const done = origin(linear, { start: ['0:ok'], double: ['0:ok'], describe: ['0:ok'], end: ['0:ok'] }, { replayOf: 'run-0' });
    expect(resumePlan(linear, done).step).toBe('start');
  });

  it('an unknown step is RESUME_STEP_UNKNOWN (exit 2), listing the steps', () => {
    const e = refusal(() => resumePlan(linear, origin(linear, { start: ['0:failed'] }), 'dubble'));
    expect(e.code).toBe('RESUME_STEP_UNKNOWN');
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe('LinearFlow has no step dubble.');
    expect(e.fix).toBe('Steps: start, double, describe, end.');
  });

  it('a step of the origin that no longer exists, or a run of another flow, is RESUME_GRAPH_MISMATCH', () => {
    const old = origin(linear, { start: ['0:ok'], double: ['0:failed'] });
    old.record.steps.splice(1, 0, { name: 'triple', type: 'linear' });
    const e = refusal(() => resumePlan(linear, old));
    expect([e.code, e.exitCode, e.message]).toEqual(['RESUME_GRAPH_MISMATCH', 2, 'The flow changed since run-1: step(s) triple no longer exist.']);
    const other = refusal(() => resumePlan(squares, origin(linear, { start: ['0:failed'] })));
    expect([other.code, other.message]).toEqual(['RESUME_GRAPH_MISMATCH', 'Run run-1 is a run of LinearFlow, not ForeachSquaresFlow.']);
  });

  it('law: reused are exactly the ok tasks of the steps before --step; without it, every ok task (the scheduler then reruns what follows a rerun)', () => {
    const statuses = fc.array(fc.boolean(), { minLength: 0, maxLength: 4 });
    fc.assert(
      fc.property(fc.tuple(statuses, statuses, statuses, statuses), fc.option(fc.constantFrom(...squares.order), { nil: undefined }), (per, step) => {
        const tasks = Object.fromEntries(squares.order.map((name, i) => [name, per[i]!.map((ok, n) => `${n}:${ok ? 'ok' : 'failed'}`)]));
        const o = origin(squares, tasks);
        let plan;
        try {
          plan = resumePlan(squares, o, step);
        } catch (e) {
          // Only a run with every task ok may be refused, and only without --step.
          expect(step === undefined && (e as FlowError).code === 'RESUME_NOTHING').toBe(true);
          expect(
            Object.values(tasks)
              .flat()
              .every((t) => t.endsWith(':ok')),
          ).toBe(true);
          return;
        }
        const cut = step === undefined ? squares.order.length : squares.order.indexOf(step);
        const expected = squares.order.slice(0, cut).flatMap((name) => tasks[name]!.filter((t) => t.endsWith(':ok')).map((t) => `${name}/${t.split(':')[0]}`));
        expect(reused(plan)).toEqual(expected);
        if (step !== undefined) expect(plan.step).toBe(step);
        // Without --step it is the first step with no tasks or a failed one.
        else expect(plan.step).toBe(squares.order.find((name) => tasks[name]!.length === 0 || tasks[name]!.some((t) => t.endsWith(':failed'))));
      }),
    );
  });
});
