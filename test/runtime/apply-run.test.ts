import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { parseWith } from '../../src/graph/with.js';
import { analyzeFlow, assertGraph } from '../../src/loader/analyze.js';
import { prepareRun } from '../../src/plan/run-plan.js';
import { applyRun, type RunEvents } from '../../src/runtime/run.js';
import { startWorkers } from '../../src/runtime/workers.js';
import { copyFlow, tempProject } from '../helpers/cli.js';

// applyRun through the library (issue #14 item 4): a run tells its listener what happens, in
// order, and prints nothing itself (rendering is the CLI's, src/cli/run-view.ts).

let dir = '';

beforeAll(async () => {
  dir = await tempProject();
  copyFlow(dir, 'linear.ts');
  copyFlow(dir, 'task-throws.ts');
}, 60_000);

/** Runs a flow of the project in this process, recording its events and anything written to stdout/stderr meanwhile. */
async function applied(file: string, withs: string[] = []) {
  const config = loadConfig(dir);
  const analysis = await analyzeFlow(join(dir, file), dir);
  const plan = prepareRun({ config, graph: assertGraph(analysis), path: analysis.path, with: withs.map(parseWith), paramArgv: [], tags: ['t'], user: 'ada', maxNumSplits: 100 });
  const seen: string[] = [];
  const events: RunEvents = {
    info: (line) => seen.push(`info ${line}`),
    warning: (text) => seen.push(`warning ${text}`),
    started: async (record, graph) => {
      seen.push(`started ${record.id} ${record.status} ${graph.flow}`);
    },
    output: (task, stream, text) => seen.push(`output ${task.step}/${task.taskId} ${stream} ${text.trim()}`),
    taskStarted: (spec, attempt) => seen.push(`taskStarted ${spec.step}/${spec.id} ${attempt}`),
    taskFinished: (spec, rec) => seen.push(`taskFinished ${spec.step}/${spec.id} ${rec.status}`),
    retrying: (spec, attempt) => seen.push(`retrying ${spec.step}/${spec.id} ${attempt}`),
    tasksEnded: () => seen.push('tasksEnded'),
    finished: (record) => seen.push(`finished ${record.id} ${record.status}`),
    pushed: (line) => seen.push(`pushed ${line}`),
  };
  const printed: string[] = [];
  const writes = { out: process.stdout.write, err: process.stderr.write };
  const capture = (chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    const outcome = await applyRun(plan, { workers: startWorkers({ config, graph: plan.graph, maxWorkers: 2, quiet: false }), events });
    return { outcome, seen, printed };
  } finally {
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
  }
}

describe('applyRun', () => {
  it('emits started, each task, tasksEnded and finished in order, and prints nothing itself', async () => {
    const { outcome, seen, printed } = await applied('flows/linear.ts');
    expect(outcome.exitCode).toBe(0);
    expect(printed).toEqual([]);
    const id = outcome.record.id;
    expect(seen.filter((e) => !e.startsWith('output') && !e.startsWith('warning'))).toEqual([`started ${id} running LinearFlow`, ...['start', 'double', 'describe', 'end'].flatMap((s) => [`taskStarted ${s}/0 0`, `taskFinished ${s}/0 ok`]), 'tasksEnded', `finished ${id} ok`]);
    // A task's output arrives between its start and its end.
    const out = seen.indexOf('output start/0 stdout start: x = 21');
    expect(out).toBeGreaterThan(seen.indexOf('taskStarted start/0 0'));
    expect(out).toBeLessThan(seen.indexOf('taskFinished start/0 ok'));
    expect(outcome.record).toMatchObject({ status: 'ok', tags: ['t'], user: 'ada' });
  }, 60_000);

  it('a failing task is retried (retrying), then fails the run: finished says failed, exit 1', async () => {
    const { outcome, seen, printed } = await applied('flows/task-throws.ts', ['retry:times=1']);
    expect(outcome.exitCode).toBe(1);
    expect(printed).toEqual([]);
    expect(seen).toContain('retrying work/1 0');
    expect(seen).toContain('taskFinished work/1 failed');
    expect(seen.indexOf('tasksEnded')).toBeLessThan(seen.indexOf(`finished ${outcome.record.id} failed`));
  }, 60_000);
});
