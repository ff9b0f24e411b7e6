import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { Flow, namespace } from '../../src/client/client.js';
import { flow } from '../helpers/cli.js';
import { FLOW_FILE, runIdOf, uxProject } from './project.js';

// Issue #17, "Done when": one realistic flow (branch + foreach + include + retry: ux-train.ts)
// walked through the first hour in order, as a user would, on the real CLI:
// run → what-if replay → latestSuccessfulRun() (not the replay) → diff naming the seed → failed
// run → resume printing what it reused → single-step rerun of a foreach task → tag → filtered listing.

interface Listed {
  id: string;
  kind: string;
  status: string;
  tags: string[];
}

describe('the first hour, end to end (#17)', () => {
  it('run, what-if, latest run, diff, failure, resume, spin, tag, listing', async () => {
    const dir = await uxProject();
    const cli = async (args: string[], exitCode = 0) => {
      const r = await flow(args, { cwd: dir });
      expect(r.exitCode, `flow ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(exitCode);
      return r;
    };

    // A run, then a what-if replay of it with another alpha.
    expect(runIdOf((await cli(['run', FLOW_FILE, '--seed', '3', '-q'])).stdout)).toBe('run-1');
    const whatIf = await cli(['replay', 'run-1', '--alpha', '0.9', '-q']);
    expect(runIdOf(whatIf.stdout)).toBe('run-2');

    // The latest successful run of the flow is run-1: a what-if is not a run of the flow's own.
    const before = namespace(null);
    try {
      const latest = await Flow.get('UxTrainFlow', { store: join(dir, '.flow') }).latestSuccessfulRun();
      expect(latest?.id).toBe('run-1');
    } finally {
      namespace(before);
    }

    // Another seed: the diff names it, and the steps whose results follow from it.
    expect(runIdOf((await cli(['run', FLOW_FILE, '--seed', '4', '-q'])).stdout)).toBe('run-3');
    const diff = JSON.parse((await cli(['diff', 'run-1', 'run-3', '--json'])).stdout) as { seed: { from: number; to: number }; differs: string[]; verdict: string };
    expect(diff.seed).toEqual({ from: 3, to: 4 });
    expect(diff.differs).toContain('seed');
    expect(diff.verdict).toMatch(/seed \(3 → 4\)/);

    // A run that fails in one fold; fix the code, commit, resume: it says what it reuses.
    const failed = await cli(['run', FLOW_FILE, '--failFold', '2', '--max-workers', '1', '-q'], 1);
    expect(runIdOf(failed.stdout)).toBe('run-4');
    const path = join(dir, FLOW_FILE);
    writeFileSync(path, readFileSync(path, 'utf8').replace('if (fold === this.failFold)', 'if (fold === this.failFold && false)'));
    await execa('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=test', 'commit', '-qam', 'fix fold 2'], { cwd: dir });
    const resumed = await cli(['resume', FLOW_FILE]);
    expect(runIdOf(resumed.stdout)).toBe('run-5');
    expect(resumed.stderr).toMatch(/resuming run-4 \(commit [0-9a-f]{10}, failed\): reusing \d+ task\(s\) of run-4 \(start, shuffle, fit ×2, baseline\), rerunning from fit/);
    expect(resumed.stdout + resumed.stderr).toMatch(/run-5: UxTrainFlow finished ok in [\d.]+s \(\d+ tasks, \d+ reused from run-4\)/);

    // One foreach task of the resumed run, rerun on its recorded inputs with the current code.
    const spin = await cli(['spin', 'run-5/fit/2']);
    expect(spin.stdout).toMatch(/^spin-1$/m);
    expect(spin.stdout).toMatch(/spin-1: fit\/2 ok in [\d.]+s; against run-5\/fit\/2: every artifact is the same/);

    // Tag the good run after the fact, then list runs by tag and status.
    await cli(['tag', 'add', 'run-5', 'candidate']);
    const tagged = JSON.parse((await cli(['runs', '--tag', 'candidate', '--status', 'ok', '--json'])).stdout) as { runs: Listed[] };
    expect(tagged.runs.map((r) => [r.id, r.kind, r.status, r.tags])).toEqual([['run-5', 'resume', 'ok', ['candidate']]]);
    const failedOnes = JSON.parse((await cli(['runs', '--status', 'failed', '--json'])).stdout) as { runs: Listed[] };
    expect(failedOnes.runs.map((r) => r.id)).toEqual(['run-4']);
  }, 240_000);
});
