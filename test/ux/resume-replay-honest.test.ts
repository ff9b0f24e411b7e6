import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { flow } from '../helpers/cli.js';
import { FLOW_FILE, recordOf, runIdOf, uxProject } from './project.js';

// #17 item 3: resume says what it reuses and warns when the code changed, a second resume does
// not redo the first, a replay of a resumed run names where its reused tasks came from; retries
// draw from their own seed, recorded per attempt, and a replay repeats the recorded one.

const git = (cwd: string, ...args: string[]) => execa('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=test', ...args], { cwd });
interface TaskRec {
  attempts: Array<{ attempt: number; status: string; seed?: string }>;
  artifacts: Record<string, { hash: string }>;
  clonedFrom?: string;
}
const taskOf = (dir: string, run: string, path: string) => JSON.parse(readFileSync(join(dir, '.flow/runs', run, 'tasks', `${path}.json`), 'utf8')) as TaskRec;

describe('honest resume and replay', () => {
  it("resume names what it reuses and warns about changed code; resume without --origin skips a run already resumed; the replay of a resumed run names the cloned task's run and commit", async () => {
    const dir = await uxProject();
    const failed = await flow(['run', FLOW_FILE, '--failFold', '2', '--max-workers', '1'], { cwd: dir });
    expect(failed.exitCode).toBe(1);
    const originCommit = (await git(dir, 'rev-parse', 'HEAD')).stdout.trim();
    // Fix the bug, and change what shuffle computes (a task the resume reuses from run-1), then commit.
    const path = join(dir, FLOW_FILE);
    writeFileSync(path, readFileSync(path, 'utf8').replace('if (fold === this.failFold)', 'if (fold === this.failFold && false)').replace('.map((x) => x * 1)', '.map((x) => x * 2)'));
    await git(dir, 'commit', '-qam', 'fix fold 2');

    const resumed = await flow(['resume', FLOW_FILE], { cwd: dir });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(runIdOf(resumed.stdout)).toBe('run-2');
    expect(resumed.stderr).toMatch(new RegExp(`resuming run-1 \\(commit ${originCommit.slice(0, 10)}, failed\\): reusing (\\d+) task\\(s\\) of run-1 \\(start, shuffle, fit ×2, baseline\\), rerunning from fit`));
    expect(resumed.stderr).toMatch(/warning: the code changed since run-1 \(commit [0-9a-f]{10} then, [0-9a-f]{10} now; 1 file\(s\) differ: flows\/ux-train\.ts\)/);
    expect(resumed.stdout + resumed.stderr).toMatch(/run-2: UxTrainFlow finished ok in [\d.]+s \(10 tasks, 5 reused from run-1\)/);
    expect(recordOf<{ origin: unknown }>(dir, 'run-2').origin).toEqual({ run: 'run-1', step: 'fit', reused: 5 });

    // run-1 was resumed by run-2: a second resume without --origin does not take it again.
    const twice = await flow(['resume', FLOW_FILE], { cwd: dir });
    expect(twice.exitCode).toBe(2);
    expect(twice.stderr).toMatch(/RESUME_NOTHING.*the latest failed one, run-1, was resumed by run-2 \(ok\)/s);
    const help = await flow(['resume', '--help'], { cwd: dir });
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('your latest failed or interrupted run of the flow that no run has resumed yet');

    // The replay of run-2 runs its package for every task: the reused shuffle diverges, and the report says where it came from.
    const replay = await flow(['replay', 'run-2'], { cwd: dir });
    expect(replay.exitCode).toBe(1);
    expect(replay.stdout).toMatch(/first divergence: step shuffle, artifact shuffled \(shuffle\/0, diverged\)/);
    expect(replay.stdout).toContain(`run-2 did not compute shuffle/0: flow resume reused it from run-1/shuffle/0 (commit ${originCommit.slice(0, 10)})`);
    expect(recordOf<{ verdict: unknown }>(dir, 'run-3').verdict).toMatchObject({ reproduced: false, firstDivergence: { task: 'shuffle/0', clonedFrom: { task: 'run-1/shuffle/0', commit: originCommit, dirty: false } } });
  }, 120_000);

  it('a retry draws from its own seed, recorded per attempt; a replay starts each task from the seed of the attempt that succeeded', async () => {
    const dir = await uxProject();
    // Seed 8: fold 1's first two draws are below 0.5 (it fails twice, then succeeds); the other folds pass at once.
    const run = await flow(['run', FLOW_FILE, '--failBelow', '0.5', '--seed', '8', '-q'], { cwd: dir });
    expect(run.exitCode, run.stderr).toBe(0);
    const fit1 = taskOf(dir, 'run-1', 'fit/1');
    expect(fit1.attempts.map((a) => a.status)).toEqual(['failed', 'failed', 'ok']);
    const seeds = fit1.attempts.map((a) => a.seed);
    expect(new Set(seeds).size).toBe(3);
    for (const s of seeds) expect(s).toMatch(/^[0-9a-f]{32}$/);
    const first = await flow(['logs', 'run-1/fit/1', '--attempt', '0'], { cwd: dir });
    const last = await flow(['logs', 'run-1/fit/1'], { cwd: dir });
    expect(first.stdout).toContain(`seed ${seeds[0]}`);
    expect(last.stdout).toContain(`attempt 2 draw`);
    expect(last.stdout).toContain(`seed ${seeds[2]}`);

    const replay = await flow(['replay', 'run-1', '-q'], { cwd: dir });
    expect(replay.exitCode, replay.stdout + replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/reproduced run-1 bit for bit/);
    const replayed = taskOf(dir, 'run-2', 'fit/1');
    expect(replayed.attempts.map((a) => [a.status, a.seed])).toEqual([['ok', seeds[2]]]);
    expect(replayed.artifacts.draw!.hash).toBe(fit1.artifacts.draw!.hash);
  }, 120_000);
});
