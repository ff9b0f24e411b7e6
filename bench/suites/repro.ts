import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { BIN, benchProject, median, ms, foreachFlowSource, type Section } from '../util.js';

const FLOW = foreachFlowSource(1000, '(this.input as number) + Math.random()');

/** flow diff of two 1,000-task runs (target < 1 s) and replay overhead versus the original run. */
export async function repro(): Promise<Section[]> {
  const dir = benchProject({ 'fe.ts': FLOW });
  execFileSync('git', ['init', '-q'], { cwd: dir });
  execFileSync('git', ['add', '-A'], { cwd: dir });
  execFileSync('git', ['-c', 'user.email=b@b', '-c', 'user.name=b', 'commit', '-qm', 'x'], { cwd: dir });
  const flow = (args: string[]) => {
    const t0 = performance.now();
    execFileSync(process.execPath, [BIN, ...args], { cwd: dir, stdio: 'ignore' });
    return performance.now() - t0;
  };
  flow(['run', 'fe.ts', '--seed', '1', '-q']); // warm-up: compile
  const original = flow(['run', 'fe.ts', '--seed', '1', '-q']); // run-2
  flow(['run', 'fe.ts', '--seed', '2', '-q']); // run-3
  const diffs = [0, 1, 2, 3, 4].map(() => flow(['diff', 'run-2', 'run-3', '--json']));
  const same = [0, 1, 2].map(() => flow(['diff', 'run-2', 'run-2']));
  let replay = 0;
  try {
    replay = flow(['replay', 'run-2', '-q']);
  } catch {
    throw new Error('replay of the bench run did not reproduce');
  }
  rmSync(dir, { recursive: true, force: true });
  return [
    {
      title: 'Reproducibility: diff and replay of foreach-1000 runs',
      command: 'whole-process wall time of the CLI in a git repo; diff medians of 5 (3 for identical runs)',
      rows: [
        { name: '`flow diff` of two 1,000-task runs (every task differs)', value: ms(median(diffs)), note: 'target < 1 s' },
        { name: '`flow diff` of a run with itself', value: ms(median(same)) },
        { name: 'original `flow run` (foreach-1000)', value: ms(original) },
        { name: '`flow replay` of it (extract package, rerun, verify 3,000+ artifacts)', value: ms(replay), note: `overhead ×${(replay / original).toFixed(2)} of the original` },
      ],
    },
  ];
}
