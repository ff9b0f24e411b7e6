import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Run, openStore } from '../../src/client/client.js';
import type { TaskRecord } from '../../src/metadata/records.js';
import { type CliResult, copyFlow, flow, tempProject } from '../helpers/cli.js';

// Task isolation: a task starts from the same global state whatever ran before it on its
// worker, flowrun stores artifacts the same whatever a step patched, and the processes a task
// starts end with it.

function runIdOf(r: CliResult): string {
  const id = r.stdout.split('\n')[0]!;
  expect(id, r.stdout + r.stderr).toMatch(/^run-\d+$/);
  return id;
}

/** step/task -> artifact name -> hash, for every task of a run. */
function artifactHashes(dir: string, run: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  const root = join(dir, '.flow/runs', run, 'tasks');
  for (const step of readdirSync(root)) {
    for (const file of readdirSync(join(root, step))) {
      const rec = JSON.parse(readFileSync(join(root, step, file), 'utf8')) as TaskRecord;
      out[`${step}/${rec.id}`] = Object.fromEntries(Object.entries(rec.artifacts).map(([k, v]) => [k, v.hash]));
    }
  }
  return out;
}

async function value(dir: string, run: string, path: string, name: string): Promise<unknown> {
  const r = await Run.open(openStore({ store: join(dir, '.flow') }), run);
  const [step, task] = path.split('/');
  return r.step(step!).task(task!).artifact(name);
}

function alive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function notedPids(dir: string): number[] {
  const pids = join(dir, 'pids');
  return readdirSync(pids).flatMap((f) => readFileSync(join(pids, f), 'utf8').split('\n').filter(Boolean).map(Number));
}

describe('task isolation', () => {
  it('a foreach counting calls in a global stores the same artifacts at --max-workers 1, 2 and 4, and replay reproduces it', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'global-counter.ts');
    const runs: string[] = [];
    for (const workers of ['1', '2', '4']) {
      const r = await flow(['run', 'flows/global-counter.ts', '--max-workers', workers, '--seed', '7', '--quiet'], { cwd: dir });
      expect(r.exitCode, r.stderr).toBe(0);
      runs.push(runIdOf(r));
    }
    expect(await value(dir, runs[0]!, 'join/0', 'counts')).toEqual(Array(12).fill(1));
    const [one, two, four] = runs.map((run) => artifactHashes(dir, run));
    expect(two).toEqual(one);
    expect(four).toEqual(one);
    const replay = await flow(['replay', runs[0]!, '--quiet'], { cwd: dir });
    expect(replay.exitCode, replay.stdout + replay.stderr).toBe(0);
  }, 180_000);

  it("a step overriding JSON.stringify, Buffer.prototype.toString and more changes neither how its own artifacts nor the next tasks' are stored", async () => {
    const dir = await tempProject();
    copyFlow(dir, 'patch-builtins.ts');
    const clean = await flow(['run', 'flows/patch-builtins.ts', '--max-workers', '1', '--quiet'], { cwd: dir });
    const patched = await flow(['run', 'flows/patch-builtins.ts', '--max-workers', '1', '--patch', 'true', '--quiet'], { cwd: dir });
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(patched.exitCode, patched.stderr).toBe(0);
    const [a, b] = [runIdOf(clean), runIdOf(patched)];
    const docs = (await value(dir, b, 'join/0', 'docs')) as unknown[][];
    expect(docs.map((d) => d[3])).toEqual([true, true, true, true]); // every task started pristine
    expect(docs[1]![1]).toBe(Buffer.from('bytes of 1').toString('hex'));
    const [ha, hb] = [artifactHashes(dir, a), artifactHashes(dir, b)];
    for (const h of [ha, hb]) for (const task of Object.values(h)) delete task.patch; // the parameter itself differs
    expect(hb).toEqual(ha);
  }, 120_000);

  it('env, cwd, exitCode, listeners, built-in statics, RegExp.$1, timers and child processes do not outlive their task; an unrestorable change retires the worker', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'leaky-state.ts');
    const r = await flow(['run', 'flows/leaky-state.ts', '--max-workers', '1', '--quiet'], { cwd: dir, env: { FLOWRUN_DEBUG_RETIRE: '1' } });
    expect(r.exitCode, r.stderr).toBe(0);
    const run = runIdOf(r);
    const clean = { env: null, fromStart: null, cwd: false, exitCode: null, listeners: 0, stackTraceLimit: 10, regexp: '', last: false, global: false, timerFired: false };
    expect(await value(dir, run, 'join/0', 'seens')).toEqual(Array(8).fill(clean));
    const pids = (await value(dir, run, 'join/0', 'pids')) as number[];
    // Splits 0-5 ran in one worker (their changes were put back); split 5's cannot be, so 6 ran in a new one.
    expect(new Set(pids.slice(0, 6)).size, r.stderr).toBe(1);
    expect(pids[6]).not.toBe(pids[5]);
    const noted = notedPids(dir);
    expect(noted.length).toBe(6); // split 3: two, split 4: two (one orphaned grandchild), the hangs step: two
    expect(noted.filter(alive)).toEqual([]);
    const store = openStore({ store: join(dir, '.flow') });
    for (const t of await (await Run.open(store, run)).step('work').tasks()) expect((await t.logs()).stdout).not.toMatch(/late/);
  }, 120_000);

  it("@timeout kills the task's children too, detached or not", async () => {
    const dir = await tempProject();
    copyFlow(dir, 'leaky-state.ts');
    const r = await flow(['run', 'flows/leaky-state.ts', '--max-workers', '2', '--hang', 'true', '--quiet'], { cwd: dir });
    expect(r.exitCode).toBe(1);
    const rec = JSON.parse(readFileSync(join(dir, '.flow/runs', runIdOf(r), 'run.json'), 'utf8')) as { error: { code: string } };
    expect(rec.error.code).toBe('TASK_TIMEOUT');
    const hang = readFileSync(join(dir, 'pids', 'hang.txt'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number);
    expect(hang).toHaveLength(2);
    expect(notedPids(dir).filter(alive)).toEqual([]);
  }, 120_000);
});
