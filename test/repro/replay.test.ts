import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { copyFlow, flow, tempDir, tempProject } from '../helpers/cli.js';

const git = (cwd: string, ...args: string[]) => execa('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=test', ...args], { cwd });
const runId = (stdout: string) => stdout.split('\n')[0]!.trim();
const record = (dir: string, id: string) =>
  JSON.parse(readFileSync(join(dir, '.flow/runs', id, 'run.json'), 'utf8')) as {
    git: { commit: string; dirty: boolean; patch?: string; remotes: Record<string, string> } | null;
    code: { hash: string };
    verdict?: { reproduced: boolean };
    replayOf?: string;
  };

async function committedProject(flowName: string): Promise<string> {
  const dir = await tempProject();
  copyFlow(dir, flowName);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-qm', 'add flow');
  return dir;
}

describe('flow replay', () => {
  it('reproduces a seeded branch + foreach + Math.random flow bit for bit, from its package even after the code changed', async () => {
    const dir = await committedProject('repro-random.ts');
    const first = await flow(['run', 'flows/repro-random.ts', '--max-workers', '2', '-q'], { cwd: dir });
    expect(first.exitCode, first.stderr).toBe(0);
    const id = runId(first.stdout);
    const rec = record(dir, id);
    expect(rec.git?.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(rec.git?.dirty).toBe(false);

    const replay = await flow(['replay', id, '--max-workers', '2'], { cwd: dir });
    expect(replay.exitCode, replay.stdout + replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/reproduced run-1 bit for bit: (\d+) of \1 artifacts match/);
    const replayId = runId(replay.stdout);
    expect(record(dir, replayId)).toMatchObject({ replayOf: id, verdict: { reproduced: true } });
    // The replay's own code package is the original's: extraction was faithful.
    expect(record(dir, replayId).code.hash).toBe(rec.code.hash);

    // Change and commit the flow: the old run still replays from its own package.
    const path = join(dir, 'flows/repro-random.ts');
    writeFileSync(path, readFileSync(path, 'utf8').replace('this.a = this.base * 2', 'this.a = this.base * 3'));
    await git(dir, 'commit', '-qam', 'change a');
    const again = await flow(['replay', id, '--max-workers', '2'], { cwd: dir });
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);

    // A new run on the new commit differs in code and in the artifacts that depend on a.
    const second = await flow(['run', 'flows/repro-random.ts', '--max-workers', '2', '--seed', String(JSON.parse(readFileSync(join(dir, '.flow/runs', id, 'run.json'), 'utf8')).seed), '-q'], { cwd: dir });
    const diff = await flow(['diff', id, runId(second.stdout), '--json'], { cwd: dir });
    const d = JSON.parse(diff.stdout) as { code: { changed: string[]; commit: { from: string; to: string } }; steps: Array<{ step: string; artifacts: Array<{ artifact: string }> }> };
    expect(d.code.changed).toEqual(['flows/repro-random.ts']);
    expect(d.code.commit.from).not.toBe(d.code.commit.to);
    const changed = d.steps.flatMap((s) => s.artifacts.map((a) => `${s.step}.${a.artifact}`));
    expect(changed).toEqual(['left.a', 'end.total']);
  });

  it('reports the first step and artifact that diverged when a flow reads the clock or an outside file (exit 1)', async () => {
    const dir = await committedProject('repro-clock.ts');
    const outside = join(tempDir(), 'outside.txt');
    writeFileSync(outside, 'one');
    const run = await flow(['run', 'flows/repro-clock.ts', '-q'], { cwd: dir, env: { OUTSIDE_FILE: outside } });
    expect(run.exitCode, run.stderr).toBe(0);
    writeFileSync(outside, 'two');
    const replay = await flow(['replay', runId(run.stdout), '--json'], { cwd: dir, env: { OUTSIDE_FILE: outside } });
    expect(replay.exitCode).toBe(1);
    const out = JSON.parse(replay.stdout) as { verdict: { reproduced: boolean; firstDivergence: { step: string; artifact: string } }; checks: Array<{ task: string; artifact: string; status: string }> };
    expect(out.verdict.reproduced).toBe(false);
    expect(out.verdict.firstDivergence).toMatchObject({ step: 'work' });
    expect(['outside', 'stamp']).toContain(out.verdict.firstDivergence.artifact);
    const work = out.checks.filter((c) => c.task === 'work/0');
    expect(work.find((c) => c.artifact === 'fixed')?.status).toBe('reproduced');
    expect(work.find((c) => c.artifact === 'outside')?.status).toBe('diverged');
    const human = await flow(['replay', runId(run.stdout)], { cwd: dir, env: { OUTSIDE_FILE: outside } });
    expect(human.exitCode).toBe(1);
    expect(human.stdout).toMatch(/start\s+1\/1\s+0\s+0/);
    expect(human.stdout).toMatch(/≠ work\/0 outside: diverged \(expected [0-9a-f]{12}, got [0-9a-f]{12}\)/);
    expect(human.stdout).not.toContain('start/0 fixed');
    const verbose = await flow(['replay', runId(run.stdout), '--verbose'], { cwd: dir, env: { OUTSIDE_FILE: outside } });
    expect(verbose.stdout).toContain('= start/0 fixed: reproduced');
  });

  it('records the patch of a dirty tree, replays it, and flow diff --code shows the changed lines', async () => {
    const dir = await committedProject('repro-random.ts');
    const clean = await flow(['run', 'flows/repro-random.ts', '--seed', '7', '-q'], { cwd: dir });
    const path = join(dir, 'flows/repro-random.ts');
    writeFileSync(path, readFileSync(path, 'utf8').replace('this.a = this.base * 2', 'this.a = this.base * 5'));
    writeFileSync(join(dir, 'flows/notes.txt'), 'untracked but not ignored\n');
    const dirty = await flow(['run', 'flows/repro-random.ts', '--seed', '7', '-q'], { cwd: dir });
    expect(dirty.exitCode, dirty.stderr).toBe(0);
    const rec = record(dir, runId(dirty.stdout));
    expect(rec.git?.dirty).toBe(true);
    expect(rec.git?.patch).toMatch(/^[0-9a-f]{64}$/);
    const patch = await flow(['get', runId(dirty.stdout), 'a'], { cwd: dir });
    expect(patch.exitCode).toBe(0);

    const replay = await flow(['replay', runId(dirty.stdout)], { cwd: dir });
    expect(replay.exitCode, replay.stdout + replay.stderr).toBe(0);

    const diff = await flow(['diff', runId(clean.stdout), runId(dirty.stdout), '--code'], { cwd: dir });
    expect(diff.stdout).toMatch(/-\s+@step left\(\) \{ this\.a = this\.base \* 2;/);
    expect(diff.stdout).toMatch(/\+\s+@step left\(\) \{ this\.a = this\.base \* 5;/);
    expect(diff.stdout).toMatch(/\+ flows\/notes\.txt/);
  });

  it('flow diff between runs with a changed param shows the param, the artifacts it changed, and identical code', async () => {
    const dir = await committedProject('repro-random.ts');
    const a = await flow(['run', 'flows/repro-random.ts', '--seed', '3', '--n', '4', '-q'], { cwd: dir });
    const b = await flow(['run', 'flows/repro-random.ts', '--seed', '3', '--n', '5', '-q'], { cwd: dir });
    const diff = await flow(['diff', runId(a.stdout), runId(b.stdout), '--exit-code'], { cwd: dir });
    expect(diff.exitCode).toBe(1);
    expect(diff.stdout).toMatch(/code\s+identical/);
    expect(diff.stdout).toMatch(/params\s+n: 4 → 5/);
    expect(diff.stdout).toMatch(/fan\/0 items/);
    expect(diff.stdout).toMatch(/4 → 5 tasks \(matched by index\)/);
    const same = await flow(['diff', runId(a.stdout), runId(a.stdout), '--exit-code'], { cwd: dir });
    expect(same.exitCode).toBe(0);
  });

  it('never writes a remote URL credential into a record', async () => {
    const dir = await committedProject('repro-random.ts');
    await git(dir, 'remote', 'add', 'origin', 'https://ghp_SECRETTOKEN123@github.com/acme/flows.git');
    const run = await flow(['run', 'flows/repro-random.ts', '-q'], { cwd: dir });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(record(dir, runId(run.stdout)).git?.remotes).toEqual({ origin: 'https://github.com/acme/flows.git' });
    const runs = join(dir, '.flow/runs');
    for (const id of readdirSync(runs)) expect(readFileSync(join(runs, id, 'run.json'), 'utf8')).not.toContain('SECRETTOKEN');
  });

  it('gives the same code package hash in two clones in different directories', async () => {
    const dir = await committedProject('repro-random.ts');
    const clone = join(tempDir(), 'clone');
    await execa('git', ['clone', '-q', dir, clone]);
    const { symlinkSync, mkdirSync } = await import('node:fs');
    mkdirSync(join(clone, 'node_modules'));
    symlinkSync(join(dir, 'node_modules', 'flowrun'), join(clone, 'node_modules', 'flowrun'));
    const a = await flow(['run', 'flows/repro-random.ts', '-q'], { cwd: dir });
    const b = await flow(['run', 'flows/repro-random.ts', '-q'], { cwd: clone });
    expect(record(dir, runId(a.stdout)).code.hash).toBe(record(clone, runId(b.stdout)).code.hash);
  });

  it('replay of an unknown run is RUN_NOT_FOUND; of a run whose package object is gone, REPLAY_SNAPSHOT_MISSING exit 3', async () => {
    const dir = await committedProject('repro-random.ts');
    const unknown = await flow(['replay', 'run-99'], { cwd: dir });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/RUN_NOT_FOUND/);
    const run = await flow(['run', 'flows/repro-random.ts', '-q'], { cwd: dir });
    const hash = record(dir, runId(run.stdout)).code.hash;
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, '.flow/objects', hash.slice(0, 2), hash), { force: true });
    const missing = await flow(['replay', runId(run.stdout)], { cwd: dir });
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toMatch(/REPLAY_SNAPSHOT_MISSING/);
    expect(missing.stderr).toMatch(/flow pull/);
  });
});

describe('flow code', () => {
  it("lists a run's code package and writes it out byte for byte", async () => {
    const dir = await committedProject('repro-random.ts');
    const run = await flow(['run', 'flows/repro-random.ts', '-q'], { cwd: dir });
    const id = runId(run.stdout);
    const list = await flow(['code', id, '--json'], { cwd: dir });
    expect(list.exitCode, list.stderr).toBe(0);
    const files = (JSON.parse(list.stdout) as { files: Array<{ path: string }> }).files.map((f) => f.path);
    expect(files).toEqual(['.gitignore', 'flows/repro-random.ts', 'package.json']);
    const out = join(tempDir(), 'code');
    const ex = await flow(['code', id, '--extract', out], { cwd: dir });
    expect(ex.exitCode, ex.stderr).toBe(0);
    expect(readFileSync(join(out, 'flows/repro-random.ts'), 'utf8')).toBe(readFileSync(join(dir, 'flows/repro-random.ts'), 'utf8'));
  });
});

describe('flow diff bad input', () => {
  it('refuses runs of different flows (DIFF_FLOW_MISMATCH, exit 2) and suggests close run ids for unknown ones', async () => {
    const dir = await committedProject('repro-random.ts');
    copyFlow(dir, 'linear.ts');
    const a = await flow(['run', 'flows/repro-random.ts', '-q'], { cwd: dir });
    const b = await flow(['run', 'flows/linear.ts', '-q'], { cwd: dir });
    const mismatch = await flow(['diff', runId(a.stdout), runId(b.stdout)], { cwd: dir });
    expect(mismatch.exitCode).toBe(2);
    expect(mismatch.stderr).toMatch(/DIFF_FLOW_MISMATCH.*ReproFlow.*LinearFlow/s);
    const unknown = await flow(['diff', runId(a.stdout), 'run-3'], { cwd: dir });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/RUN_NOT_FOUND.*Did you mean run-[12]\?/s);
  });
});
