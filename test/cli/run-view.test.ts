import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { runView, type RunViewOptions } from '../../src/cli/run-view.js';
import { extractGraph } from '../../src/graph/extract.js';
import type { FlowGraph } from '../../src/graph/types.js';
import type { RunRecord, TaskRecord } from '../../src/metadata/records.js';
import type { TaskSpec } from '../../src/runtime/scheduler.js';

// The run view (src/cli/run-view.ts) over events in memory: what flow run, resume, replay and
// cache verify print while a run runs, and the quiet/--json rules, without running anything.

const file = 'test/flows/linear.ts';
const graph: FlowGraph = extractGraph(file, readFileSync(file, 'utf8')).graph!;
const record = { id: 'run-9', flow: graph.flow, params: {} } as unknown as RunRecord;
const spec = (step: string): TaskSpec => ({ step, id: '0' }) as TaskSpec;
const done = (step: string, over: Partial<TaskRecord> = {}): TaskRecord => ({ step, id: '0', status: 'ok', attempts: [{ attempt: 0 }], ...over }) as TaskRecord;

const restore: Array<() => void> = [];
afterEach(() => {
  for (const r of restore.splice(0)) r();
});

/** What the view writes to stdout and stderr while `play` drives it. */
async function printed(o: RunViewOptions, play: (v: ReturnType<typeof runView>) => Promise<void> | void, tty = false): Promise<{ out: string; err: string }> {
  const got = { out: '', err: '' };
  const writes = { out: process.stdout.write, err: process.stderr.write };
  const isTTY = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
  const ci = process.env.CI;
  process.stdout.write = ((chunk: string) => {
    got.out += chunk;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => {
    got.err += chunk;
    return true;
  }) as typeof process.stderr.write;
  Object.defineProperty(process.stderr, 'isTTY', { value: tty, configurable: true });
  delete process.env.CI;
  restore.push(() => {
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
    if (isTTY) Object.defineProperty(process.stderr, 'isTTY', isTTY);
    else delete (process.stderr as { isTTY?: boolean }).isTTY;
    if (ci !== undefined) process.env.CI = ci;
  });
  const view = runView(o);
  await play(view);
  for (const r of restore.splice(0)) r();
  return got;
}

async function linearRun(v: ReturnType<typeof runView>): Promise<void> {
  v.info?.('installing @npm environment of fit');
  v.warning?.('the working tree has uncommitted changes');
  await v.started?.(record, graph);
  v.taskStarted?.(spec('start'), 0);
  v.output?.({ step: 'start', taskId: '0' }, 'stdout', 'hello\n');
  v.output?.({ step: 'start', taskId: '0' }, 'stderr', 'careful\n');
  v.retrying?.(spec('start'), 0, 'boom');
  v.taskFinished?.(spec('start'), done('start', { attempts: [{ attempt: 0 }, { attempt: 1 }] as TaskRecord['attempts'] }));
  v.tasksEnded?.();
  v.finished?.(record);
  v.pushed?.('pushed run-9 to s3://b/p');
  v.pushed?.('warning: run-9 was not pushed');
}

describe('runView', () => {
  it('plain lines: said before the run exists, task output prefixed, retries, the push', async () => {
    const said: string[] = [];
    const { out, err } = await printed({ quiet: false, json: false, onStarted: (r) => said.push(`started ${r.id}`), onFinished: (r) => said.push(`finished ${r.id}`) }, linearRun);
    expect(out).toBe('[run-9/start/0] hello\n');
    expect(err).toBe(['installing @npm environment of fit', 'warning: the working tree has uncommitted changes', '[run-9/start/0] careful', '[run-9/start/0] attempt 1 failed (boom); retrying', '[run-9/start/0] ok after 2 attempts', 'pushed run-9 to s3://b/p', 'warning: run-9 was not pushed', ''].join('\n'));
    expect(said).toEqual(['started run-9', 'finished run-9']);
  });

  it('-q: nothing but the push warnings (the command prints the run id itself)', async () => {
    const { out, err } = await printed({ quiet: true, json: false }, linearRun);
    expect([out, err]).toEqual(['', 'warning: run-9 was not pushed\n']);
  });

  it('--json: stdout is left to the JSON document, task stdout goes to stderr', async () => {
    const { out, err } = await printed({ quiet: false, json: true }, linearRun);
    expect(out).toBe('');
    expect(err).toContain('[run-9/start/0] hello\n');
  });

  it('on a terminal: the live table of every step below the output, left drawn when the tasks end', async () => {
    const { out, err } = await printed({ quiet: false, json: false }, linearRun, true);
    expect(out).toBe('[run-9/start/0] hello\n');
    expect(err).toContain('run-9 LinearFlow');
    expect(err).toMatch(/✓ start +1 done\n +· double +waiting\n/);
  });

  it('on a terminal: a line said after the tasks end (cache verify, a backend) is one plain line; the table is not drawn again', async () => {
    const { err } = await printed(
      { quiet: false, json: false },
      async (v) => {
        await v.started?.(record, graph);
        v.taskStarted?.(spec('start'), 0);
        v.taskFinished?.(spec('start'), done('start'));
        v.tasksEnded?.();
        process.stderr.write('<tasks ended>');
        v.info?.('run-9: 1 diverged entry could not be evicted');
      },
      true,
    );
    expect(err.split('<tasks ended>')[0]).toContain('run-9 LinearFlow');
    expect(err.split('<tasks ended>')[1]).toBe('run-9: 1 diverged entry could not be evicted\n');
  });
});
