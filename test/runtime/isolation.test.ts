import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunRecord, TaskRecord } from '../../src/metadata/records.js';
import { type CliResult, copyFlow, flow, tempProject } from '../helpers/cli.js';

// Each task runs in a worker process: a task that throws, exits, runs out of memory or hangs
// fails that task only, and the orchestrator still records the run. Step decorators that the
// local runtime applies (@retry, @timeout, @catchError, @resources, @environment) are checked
// on real processes.

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

const runRecord = (dir: string, run: string) => readJson<RunRecord>(join(dir, '.flow/runs', run, 'run.json'));
const taskRecord = (dir: string, run: string, step: string, id: string) => readJson<TaskRecord>(join(dir, '.flow/runs', run, 'tasks', step, `${id}.json`));

function runIdOf(r: CliResult): string {
  const id = r.stdout.split('\n')[0]!;
  expect(id, r.stdout + r.stderr).toMatch(/^run-\d+$/);
  return id;
}

async function project(flowFile: string): Promise<string> {
  const dir = await tempProject();
  copyFlow(dir, flowFile);
  return dir;
}

async function runFlow(dir: string, file: string, extra: string[] = []): Promise<CliResult> {
  return flow(['run', `flows/${file}`, '--max-workers', '2', ...extra], { cwd: dir });
}

async function getValue(dir: string, path: string, name: string): Promise<unknown> {
  const r = await flow(['get', path, name, '--json'], { cwd: dir });
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { value: unknown }).value;
}

describe('task isolation', () => {
  it('a task that throws fails only that task; stderr names it; flow logs shows its stderr', async () => {
    const dir = await project('task-throws.ts');
    const r = await runFlow(dir, 'task-throws.ts');
    expect(r.exitCode).toBe(1);
    const run = runIdOf(r);
    expect(r.stderr).toMatch(new RegExp(`${run}/work/1\\] failed.*TASK_FAILED.*boom in split 1`));
    expect(r.stderr).not.toMatch(/^\s+at /m);

    const rec = runRecord(dir, run);
    expect(rec.status).toBe('failed');
    expect(rec.error).toMatchObject({ code: 'TASK_FAILED', task: 'work/1', step: 'work' });
    expect(rec.error!.message).toContain('boom in split 1');
    const failed = taskRecord(dir, run, 'work', '1');
    expect(failed.status).toBe('failed');
    expect(failed.attempts).toHaveLength(1);
    expect(failed.attempts[0]!.error!.message).toContain('boom in split 1');
    // The split that ran alongside it is unaffected.
    expect(taskRecord(dir, run, 'work', '0').status).toBe('ok');
    expect(rec.summary!.work!.failed).toBe(1);
    expect(rec.summary!.join!.tasks).toBe(0);

    const logs = await flow(['logs', `${run}/work/1`], { cwd: dir });
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stderr).toContain('work 1: starting on stderr');
    expect(logs.stderr).not.toContain('work 0');
  });

  it('a task calling process.exit(3) is TASK_CRASHED; the orchestrator still writes the run record', async () => {
    const dir = await project('task-exit.ts');
    const r = await runFlow(dir, 'task-exit.ts');
    expect(r.exitCode).toBe(1);
    const run = runIdOf(r);
    expect(r.stderr).toMatch(/crash\/0\] failed.*TASK_CRASHED/);
    const rec = runRecord(dir, run);
    expect(rec.status).toBe('failed');
    expect(rec.finished).toBeTruthy();
    expect(rec.error).toMatchObject({ code: 'TASK_CRASHED', task: 'crash/0', step: 'crash' });
    expect(rec.error!.message).toMatch(/exited with code 3/);
    expect(taskRecord(dir, run, 'start', '0').status).toBe('ok');
    expect(taskRecord(dir, run, 'crash', '0').status).toBe('failed');
    // What the task printed before exiting is kept.
    const logs = await flow(['logs', `${run}/crash/0`, '--stdout'], { cwd: dir });
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('crash: about to exit');
  });

  it('@resources({ memory: 64 }) caps the worker heap: unbounded allocation is TASK_OOM', async () => {
    const dir = await project('task-oom.ts');
    const r = await runFlow(dir, 'task-oom.ts', ['--quiet']);
    expect(r.exitCode).toBe(1);
    const rec = runRecord(dir, runIdOf(r));
    expect(rec.status).toBe('failed');
    expect(rec.error).toMatchObject({ code: 'TASK_OOM', task: 'hog/0', step: 'hog' });
    expect(rec.error!.message).toMatch(/64 MiB/);
    expect(rec.error!.fix).toMatch(/@resources/);
  });

  it('@timeout({ seconds: 1 }) kills a busy-looping step: TASK_TIMEOUT within a few seconds', async () => {
    const dir = await project('task-timeout.ts');
    const started = Date.now();
    const r = await runFlow(dir, 'task-timeout.ts');
    const elapsed = Date.now() - started;
    expect(r.exitCode).toBe(1);
    expect(elapsed).toBeLessThan(8_000);
    expect(r.stderr).toMatch(/hang\/0\] failed.*TASK_TIMEOUT/);
    const run = runIdOf(r);
    const rec = runRecord(dir, run);
    expect(rec.error).toMatchObject({ code: 'TASK_TIMEOUT', task: 'hang/0' });
    const attempt = taskRecord(dir, run, 'hang', '0').attempts[0]!;
    expect(attempt.durationMs).toBeGreaterThanOrEqual(900);
    expect(attempt.durationMs).toBeLessThan(5_000);
  });

  it('@retry({ times: 2 }): a step failing twice then succeeding makes an ok run with 3 attempts', async () => {
    const dir = await project('retry-counter.ts');
    const r = await runFlow(dir, 'retry-counter.ts');
    expect(r.exitCode, r.stderr).toBe(0);
    const run = runIdOf(r);
    expect(readFileSync(join(dir, 'attempts.txt'), 'utf8')).toBe('3');
    const rec = taskRecord(dir, run, 'flaky', '0');
    expect(rec.status).toBe('ok');
    expect(rec.attempts.map((a) => [a.attempt, a.status])).toEqual([
      [0, 'failed'],
      [1, 'failed'],
      [2, 'ok'],
    ]);
    expect(rec.attempts[0]!.error!.message).toContain('flaky attempt 1 failed');
    expect(rec.attempts[1]!.error!.message).toContain('flaky attempt 2 failed');
    expect(runRecord(dir, run).status).toBe('ok');
    expect(await getValue(dir, run, 'attemptsSeen')).toBe(3);
  });

  it('@retry gives up after 1 + times attempts: the last error fails the run', async () => {
    const dir = await project('retry-counter.ts');
    writeFileSync(join(dir, 'attempts.txt'), '-10'); // attempts -9, -8, -7: all fail
    const r = await runFlow(dir, 'retry-counter.ts');
    expect(r.exitCode).toBe(1);
    const run = runIdOf(r);
    const rec = taskRecord(dir, run, 'flaky', '0');
    expect(rec.status).toBe('failed');
    expect(rec.attempts.map((a) => a.status)).toEqual(['failed', 'failed', 'failed']);
    expect(readFileSync(join(dir, 'attempts.txt'), 'utf8')).toBe('-7');
    expect(runRecord(dir, run).error).toMatchObject({ code: 'TASK_FAILED', task: 'flaky/0' });
    expect(runRecord(dir, run).error!.message).toContain('flaky attempt -7 failed');
  });

  it('@catchError({ var: "err" }) stores the error and the flow continues', async () => {
    const dir = await project('catch-error.ts');
    const r = await runFlow(dir, 'catch-error.ts');
    expect(r.exitCode, r.stderr).toBe(0);
    const run = runIdOf(r);
    expect(r.stderr).toMatch(/risky\/0\] error caught by @catchError.*risky step blew up/);
    const rec = runRecord(dir, run);
    expect(rec.status).toBe('ok');
    expect(rec.summary).toMatchObject({ risky: { ok: 1, failed: 0 }, after: { ok: 1 }, end: { ok: 1 } });
    const risky = taskRecord(dir, run, 'risky', '0');
    expect(risky.caught).toMatchObject({ code: 'TASK_FAILED' });
    expect(risky.attempts[0]!.status).toBe('failed');
    const [err, afterwards] = await Promise.all([getValue(dir, run, 'err'), getValue(dir, run, 'afterwards')]);
    expect(err).toMatchObject({ code: 'TASK_FAILED' });
    expect((err as { message: string }).message).toContain('risky step blew up');
    expect(afterwards).toBe('continued after: Error: risky step blew up');
  });

  it('@catchError({ printException: false }) records and stores the error without printing it or its stack', async () => {
    const dir = await project('catch-error-quiet.ts');
    const r = await runFlow(dir, 'catch-error-quiet.ts');
    expect(r.exitCode, r.stderr).toBe(0);
    const run = runIdOf(r);
    expect(r.stderr).not.toMatch(/caught by @catchError|risky step blew up/);
    expect(taskRecord(dir, run, 'risky', '0').caught).toMatchObject({ code: 'TASK_FAILED' });
    expect(await getValue(dir, run, 'afterwards')).toBe('continued after: Error: risky step blew up');
    const logs = await flow(['logs', `${run}/risky/0`, '--stderr'], { cwd: dir });
    expect(logs.stderr).not.toContain('risky step blew up');
  });

  it('@environment({ vars }) is visible in process.env inside its step only', async () => {
    const dir = await project('env-vars.ts');
    // One worker: the three steps run in the same process one after the other.
    const r = await flow(['run', 'flows/env-vars.ts', '--max-workers', '1', '--quiet'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(process.env.GREETING).toBeUndefined();
    const run = runIdOf(r);
    const [atStart, inside, afterwards] = await Promise.all(['atStart', 'inside', 'afterwards'].map((n) => getValue(dir, run, n)));
    expect({ atStart, inside, afterwards }).toEqual({ atStart: null, inside: 'hi', afterwards: null });
  });
});
