import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Run, openStore } from '../../src/client/client.js';
import type { TaskRecord } from '../../src/metadata/records.js';
import { type CliResult, copyFlow, flow, tempProject } from '../helpers/cli.js';

// Logs are exact: every byte a task writes to stdout/stderr (itself, with raw writes, or through
// a child process) is in that task's log and only there, in order; each attempt keeps its own.

function runIdOf(r: CliResult): string {
  const id = r.stdout.split('\n')[0]!;
  expect(id, r.stdout.slice(0, 2000) + r.stderr.slice(-4000)).toMatch(/^run-\d+$/);
  return id;
}

/** What a split of log-flood.ts prints: its numbered lines, one with the forged marker. */
function expectedStdout(task: number, lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(i === lines / 2 ? `task ${task} line ${i} \u0000flowrun:end:1\u0000` : `task ${task} line ${i}`);
  return `${out.join('\n')}\n`;
}

describe('exact logs', () => {
  it("50 tasks × 20,000 numbered lines at --max-workers 4: every line in its own task's log, in order; 0 misattributed, 0 lost", async () => {
    const dir = await tempProject();
    copyFlow(dir, 'log-flood.ts');
    const r = await flow(['run', 'flows/log-flood.ts', '--max-workers', '4'], { cwd: dir });
    expect(r.exitCode, r.stderr.slice(-4000)).toBe(0);
    const run = await Run.open(openStore({ store: join(dir, '.flow') }), runIdOf(r));
    const tasks = await run.step('work').tasks();
    expect(tasks).toHaveLength(50);
    let misattributed = 0;
    let lost = 0;
    for (const t of tasks) {
      const task = Number(t.id);
      const logs = await t.logs();
      const lines = logs.stdout.split('\n').slice(0, -1);
      misattributed += lines.filter((l) => !l.startsWith(`task ${task} `)).length;
      const seen = new Set(lines);
      lost += expectedStdout(task, 20000)
        .split('\n')
        .slice(0, -1)
        .filter((l) => !seen.has(l)).length;
      expect(logs.stdout === expectedStdout(task, 20000), `stdout of work/${task} differs`).toBe(true);
      expect(logs.stderr).toBe(Array.from({ length: 100 }, (_, j) => `task ${task} err ${j}\n`).join(''));
    }
    expect({ misattributed, lost }).toEqual({ misattributed: 0, lost: 0 });
    // The live view printed the same lines, each with its task's prefix.
    const live = r.stdout.split('\n').filter((l) => l.startsWith('[run-'));
    expect(live.filter((l) => !/^\[run-\d+\/(\w+)\/(\d+)\] task \2 line \d+/.test(l) && !l.includes('attempt'))).toEqual([]);
    expect(live.filter((l) => l.includes('/work/')).length).toBe(50 * 20000);
  }, 300_000);

  it('each attempt keeps its logs: flow logs --attempt N, the last by default; an old record without them still reads', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'log-flood.ts');
    const r = await flow(['run', 'flows/log-flood.ts', '--n', '2', '--lines', '10', '--max-workers', '1', '--quiet'], { cwd: dir });
    const run = runIdOf(r);
    expect(r.exitCode, r.stderr).toBe(0);
    const last = await flow(['logs', `${run}/again/0`], { cwd: dir });
    expect(last.exitCode, last.stderr).toBe(0);
    expect(last.stdout).toBe('attempt 2 output'); // execa strips the final newline
    const first = await flow(['logs', `${run}/again/0`, '--attempt', '0', '--json'], { cwd: dir });
    expect(first.exitCode, first.stderr).toBe(0);
    const doc = JSON.parse(first.stdout) as { tasks: Array<{ attempt: number; stdout: string; stderr: string }> };
    expect(doc.tasks[0]).toMatchObject({ attempt: 0, stdout: 'attempt 1 output\n' });
    expect(doc.tasks[0]!.stderr).toContain('Error: first attempt fails');
    const none = await flow(['logs', `${run}/again/0`, '--attempt', '5'], { cwd: dir });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/LOGS_NOT_FOUND|no attempt 5/);

    // A record written before attempts kept their logs: the task's logs are the last attempt's.
    const path = join(dir, '.flow/runs', run, 'tasks/again/0.json');
    const rec = JSON.parse(readFileSync(path, 'utf8')) as TaskRecord;
    const old = { ...rec, attempts: rec.attempts.map(({ logs: _logs, ...a }) => a) };
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, JSON.stringify(old));
    const task = (await Run.open(openStore({ store: join(dir, '.flow') }), run)).step('again').task('0');
    expect((await task.logs()).stdout).toBe('attempt 2 output\n');
    await expect(task.logs(0)).rejects.toMatchObject({ code: 'LOGS_NOT_FOUND' });
  }, 120_000);
});
