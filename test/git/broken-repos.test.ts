import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { captureGit, listProjectFiles, type GitImpl } from '../../src/git/git.js';
import { isFlowError } from '../../src/errors/index.js';
import { flow, tempDir, tempProject } from '../helpers/cli.js';

const FLOW = `import { FlowSpec, step } from 'flowrun';
export default class Tiny extends FlowSpec {
  x!: number;
  @step start() { this.x = Math.random(); this.next(this.end); }
  @step end() {}
}
`;

/** A project whose git repo has no commit yet (an unborn main branch). */
async function unbornProject(): Promise<string> {
  const dir = await tempProject({ 'flows/tiny.ts': FLOW }, { git: false });
  writeFileSync(join(dir, '.gitignore'), 'node_modules/\n.flow/\n');
  await execa('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  return dir;
}

describe('repositories in unusual states', () => {
  // Decision (documented in the README): a repo with no commits runs, with a one-line warning and
  // commit: null; its code package still holds every file, so it replays. A corrupt index stops
  // the run (exit 4): running without git state would silently lose the run's provenance, and the
  // fix is one command.
  it('no commits yet: the run warns in one line, records commit null with a patch, and replays', async () => {
    const dir = await unbornProject();
    const run = await flow(['run', 'flows/tiny.ts'], { cwd: dir });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^warning: .* has no commits yet: the run is recorded with commit: null/m);
    const id = run.stdout.split('\n')[0]!.trim();
    const rec = JSON.parse(readFileSync(join(dir, '.flow/runs', id, 'run.json'), 'utf8')) as { git: { commit: string | null; branch: string; dirty: boolean; patch?: string } };
    expect(rec.git).toMatchObject({ commit: null, branch: 'main', dirty: true });
    expect(rec.git.patch).toMatch(/^[0-9a-f]{64}$/);
    const replay = await flow(['replay', id, '-q'], { cwd: dir });
    expect(replay.exitCode, replay.stdout + replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/reproduced run-1 bit for bit/);
  });

  it('a corrupt index: flow run fails with GIT_INDEX_CORRUPT (exit 4) naming .git/index and the fix, before a run id exists', async () => {
    const dir = await tempProject({ 'flows/tiny.ts': FLOW });
    writeFileSync(join(dir, '.git/index'), 'garbage, not a dircache');
    const run = await flow(['run', 'flows/tiny.ts'], { cwd: dir });
    expect(run.exitCode).toBe(4);
    expect(run.stderr).toContain('GIT_INDEX_CORRUPT');
    expect(run.stderr).toContain('.git/index');
    expect(run.stderr).toContain('rm .git/index && git reset');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, '.flow/runs/run-1'))).toBe(false);
    // The advertised fix works.
    await execa('sh', ['-c', 'rm .git/index && git reset -q'], { cwd: dir });
    expect((await flow(['run', 'flows/tiny.ts', '-q'], { cwd: dir })).exitCode).toBe(0);
  });

  for (const impl of ['cli', 'isomorphic'] as GitImpl[]) {
    it(`${impl}: a corrupt index is GIT_INDEX_CORRUPT from both git capture and the file list (no raw isomorphic-git error)`, async () => {
      const dir = tempDir();
      await execa('git', ['init', '-q', '-b', 'main'], { cwd: dir });
      writeFileSync(join(dir, 'a.txt'), 'a');
      writeFileSync(join(dir, '.git/index'), 'DIRC-but-broken');
      for (const call of [() => captureGit(dir, { impl }), () => listProjectFiles(dir, { impl })]) {
        const err = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isFlowError(err) && err.code).toBe('GIT_INDEX_CORRUPT');
        expect(isFlowError(err) && err.exitCode).toBe(4);
      }
    });

    it(`${impl}: no commits yet gives commit null, the branch, and the untracked files`, async () => {
      const dir = tempDir();
      await execa('git', ['init', '-q', '-b', 'main'], { cwd: dir });
      writeFileSync(join(dir, 'a.txt'), 'a');
      const state = await captureGit(dir, { impl });
      expect(state).toMatchObject({ commit: null, branch: 'main', dirty: true });
      expect(await listProjectFiles(dir, { impl })).toEqual(['a.txt']);
    });
  }
});
