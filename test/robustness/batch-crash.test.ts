import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, copyFlow, flow, tempProject } from '../helpers/cli.js';
import { type BatchWorld, batchTestsRunnable, configureBatch, ORCHESTRATOR_ENV, startBatchWorld } from '../helpers/batch.js';
import { LONG, printFigures } from './figures.js';

// Part 1 of the robustness suite (issue #9) for Batch: the orchestrator of a `--with batch` run
// is SIGKILLed at a random moment while jobs run. Its jobs cannot be terminated by a dead process
// (Ctrl-C does that); what must hold is the store: fsck passes, `flow resume` finishes the run, and
// the artifacts equal an uninterrupted run's.

let world: BatchWorld;
const runnable = batchTestsRunnable();
beforeAll(async () => {
  if (runnable) world = await startBatchWorld();
});
afterAll(async () => {
  await world?.stop();
});

const KILLS = LONG ? 10 : 2;
const ARGS = ['flows/foreach-squares.ts', '--n', '6'];
const endHashes = (dir: string, run: string) => {
  const rec = JSON.parse(readFileSync(join(dir, '.flow/runs', run, 'tasks/end/0.json'), 'utf8')) as { artifacts: Record<string, { hash: string }> };
  return Object.fromEntries(Object.entries(rec.artifacts).map(([k, v]) => [k, v.hash]));
};

describe.skipIf(!runnable)('robustness: crash loop on Batch', () => {
  it(`SIGKILL of a --with batch orchestrator (${KILLS}x): fsck passes, resume finishes, artifacts match an uninterrupted run`, async () => {
    const dir = await tempProject();
    copyFlow(dir, 'foreach-squares.ts');
    await execa('git', ['add', '-A'], { cwd: dir });
    await execa('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=test', 'commit', '-qm', 'flow'], { cwd: dir });
    await configureBatch(dir, world);
    const base = await flow(['run', ...ARGS, '-q'], { cwd: dir, env: ORCHESTRATOR_ENV });
    expect(base.exitCode, base.stderr).toBe(0);
    const reference = endHashes(dir, base.stdout.split('\n')[0]!.trim());
    const figures = { kills: 0, fsckFailures: 0, resumed: 0, hashMismatches: 0 };
    for (let i = 0; i < KILLS; i++) {
      const child = execa(process.execPath, [BIN, 'run', ...ARGS, '--with', 'batch', '-q'], { cwd: dir, reject: false, env: ORCHESTRATOR_ENV });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
      });
      while (!/run-\d+/.test(out) && child.exitCode === null) await sleep(20);
      await sleep(500 + Math.random() * 3000);
      child.kill('SIGKILL');
      const ended = await child;
      const run = /run-\d+/.exec(out)![0];
      if (ended.signal !== 'SIGKILL') continue; // it finished first: not a crash
      figures.kills++;
      const fsck = await flow(['fsck'], { cwd: dir, env: ORCHESTRATOR_ENV });
      if (fsck.exitCode !== 0) figures.fsckFailures++;
      expect(fsck.exitCode, fsck.stdout).toBe(0);
      const resumed = await flow(['resume', 'flows/foreach-squares.ts', '--origin', run, '-q'], { cwd: dir, env: ORCHESTRATOR_ENV });
      expect(resumed.exitCode, resumed.stderr).toBe(0);
      figures.resumed++;
      if (JSON.stringify(endHashes(dir, resumed.stdout.split('\n')[0]!.trim())) !== JSON.stringify(reference)) figures.hashMismatches++;
    }
    printFigures('crash loop on Batch', [
      ['kills', figures.kills],
      ['fsck failures', figures.fsckFailures],
      ['resumes completed', figures.resumed],
      ['hash mismatches', figures.hashMismatches],
    ]);
    expect(figures.kills).toBeGreaterThan(0);
    expect(figures.hashMismatches).toBe(0);
  }, 300_000);
});
