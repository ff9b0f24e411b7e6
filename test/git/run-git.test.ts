import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { captureGit, captureGitAndFiles, listProjectFiles } from '../../src/git/git.js';
import { GitMissing, GitRefused, runGit } from '../../src/git/run-git.js';
import { tempDir } from '../helpers/cli.js';

/** A repository with a commit, a tracked change, an untracked file and a binary file. */
function repo(): string {
  const dir = tempDir('flowrun-rungit-');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir });
  git('init', '-q');
  writeFileSync(join(dir, 'a.txt'), 'one\n');
  writeFileSync(join(dir, 'bin.dat'), Buffer.from([0, 1, 2, 255, 0]));
  git('add', '-A');
  git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'x');
  writeFileSync(join(dir, 'a.txt'), 'two\n');
  writeFileSync(join(dir, 'b.txt'), 'new\n');
  return dir;
}

const COMMANDS = [
  ['rev-parse', '--show-toplevel'],
  ['status', '--porcelain=v2', '-z', '--untracked-files=all'],
  ['diff', 'HEAD', '--binary', '--full-index'],
  ['ls-files', '-z', '--cached'],
  ['cat-file', '-p', 'no-such-object'],
  ['show', 'HEAD:bin.dat'],
];

const savedPath = process.env.PATH;
afterEach(() => {
  process.env.PATH = savedPath;
});

/**
 * A `git` first on PATH that records its parent's pid, then runs the real one: with batching,
 * the commands' parent is a shell, not this (Node) process, which would otherwise fork itself
 * once per command.
 */
function recordingGit(): string {
  const dir = tempDir('flowrun-fakegit-');
  const real = execFileSync('sh', ['-c', 'command -v git']).toString().trim();
  writeFileSync(join(dir, 'git'), `#!/bin/sh\necho $PPID >> '${join(dir, 'parents')}'\nexec '${real}' "$@"\n`);
  chmodSync(join(dir, 'git'), 0o755);
  process.env.PATH = `${dir}:${savedPath}`;
  return join(dir, 'parents');
}

describe('runGit: commands started together run in one sh', () => {
  it('gives each command of a batch what it gives run alone (output bytes, exit code, stderr), and none is a child of this process', async () => {
    const dir = repo();
    const alone = [];
    for (const args of COMMANDS) alone.push(await runGit(dir, args, { env: {} })); // env: run on its own
    const parents = recordingGit();
    const together = await Promise.all(COMMANDS.map((args) => runGit(dir, args)));
    expect(together.map((r) => r.code)).toEqual(alone.map((r) => r.code));
    expect(together.map((r) => r.stdout.toString('base64'))).toEqual(alone.map((r) => r.stdout.toString('base64')));
    expect(together.map((r) => r.stderr)).toEqual(alone.map((r) => r.stderr));
    expect(together[4]!.code).not.toBe(0);
    expect(together[5]!.stdout).toEqual(Buffer.from([0, 1, 2, 255, 0]));
    const pids = readFileSync(parents, 'utf8').trim().split('\n').map(Number);
    expect(pids).toHaveLength(COMMANDS.length);
    expect(pids).not.toContain(process.pid);
    // All children of the one sh: no subshell forked per command.
    expect(new Set(pids).size).toBe(1);
  });

  it("a run's git capture and file listing (as snapshotProject starts them) fork no git from this process", async () => {
    const dir = repo();
    const parents = recordingGit();
    const [state, files] = await Promise.all([captureGit(dir, { impl: 'cli' }), listProjectFiles(dir, { impl: 'cli' })]);
    expect(state?.dirty).toBe(true);
    expect(files.sort()).toEqual(['a.txt', 'b.txt', 'bin.dat']);
    const pids = readFileSync(parents, 'utf8').trim().split('\n').map(Number);
    expect(pids.length).toBeGreaterThanOrEqual(5);
    expect(pids).not.toContain(process.pid);
  });

  it('captureGitAndFiles gives what captureGit and listProjectFiles give, in five git commands (the untracked files from status): at the top level and in a subfolder, with ignored, nested-repo, non-ASCII and outside-the-folder files', async () => {
    const dir = repo();
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir });
    mkdirSync(join(dir, 'proj', 'sub'), { recursive: true });
    writeFileSync(join(dir, '.gitignore'), '*.log\n');
    writeFileSync(join(dir, 'proj', 'tracked.ts'), 't\n');
    git('add', '-A');
    git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'y');
    mkdirSync(join(dir, 'proj', 'nested'), { recursive: true });
    execFileSync('git', ['init', '-q'], { cwd: join(dir, 'proj', 'nested') });
    writeFileSync(join(dir, 'proj', 'nested', 'x.txt'), 'x\n');
    for (const f of ['proj/new.ts', 'proj/sub/ünïcode file.ts', 'proj/skip.log', 'outside.ts', 'proj-sibling.ts']) writeFileSync(join(dir, f), 'n\n');
    for (const root of [dir, join(dir, 'proj')]) {
      const separate = { state: await captureGit(root, { impl: 'cli' }), files: await listProjectFiles(root, { impl: 'cli' }) };
      const parents = recordingGit();
      const together = await captureGitAndFiles(root, { impl: 'cli' });
      process.env.PATH = savedPath;
      expect(together).toEqual(separate);
      expect(readFileSync(parents, 'utf8').trim().split('\n')).toHaveLength(5);
    }
    expect((await captureGitAndFiles(join(dir, 'proj'), { impl: 'cli' })).files).toEqual(['new.ts', 'sub/ünïcode file.ts', 'tracked.ts']);
  });

  it('captureGitAndFiles outside a repository: no state, every file', async () => {
    const dir = tempDir('flowrun-norepo-');
    writeFileSync(join(dir, 'a.ts'), 'a\n');
    expect(await captureGitAndFiles(dir, { impl: 'cli' })).toEqual({ state: null, files: ['a.ts'] });
  });

  it('a batch without git on PATH rejects every command with GitMissing (the isomorphic-git fallback keys on it)', async () => {
    const dir = repo();
    process.env.PATH = tempDir('flowrun-nogit-');
    const results = await Promise.allSettled(COMMANDS.slice(0, 3).map((args) => runGit(dir, args)));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(GitMissing);
    }
  });

  it.runIf(process.getuid?.() === 0)('a repository git refuses (another owner) rejects every command of the batch with GitRefused', async () => {
    const dir = repo();
    execFileSync('chown', ['-R', '4242:4242', dir]);
    try {
      const results = await Promise.allSettled(COMMANDS.slice(0, 2).map((args) => runGit(dir, args)));
      for (const r of results) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(GitRefused);
    } finally {
      chownSync(dir, 0, 0);
    }
  });
});
