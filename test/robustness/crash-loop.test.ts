import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, copyFlow, flow, tempProject } from '../helpers/cli.js';
import { isWorkerCommand, processesIn, waitUntilGone } from '../helpers/processes.js';
import { S3_TEST_ENV, startS3Server, type S3TestServer } from '../helpers/s3.js';
import { LONG, printFigures } from './figures.js';

// Part 1 of the robustness suite (issue #9), beyond the orchestrator kills of
// test/runtime/resume.test.ts: SIGKILL one task worker mid-run, and the orchestrator of replay,
// pull and gc at random moments. After each: fsck (local, and remote where one is involved)
// finds nothing, the operation finishes when repeated (resume for a run), and the artifacts
// match an uninterrupted run's.

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => server?.stop());

const KILLS_PER_OP = LONG ? 10 : 2;
const FLOW_ARGS = ['flows/foreach-squares.ts', '--n', '40', '--sleep-ms', '25', '--max-workers', '2', '-q'];
const endHashes = (dir: string, run: string) => {
  const rec = JSON.parse(readFileSync(join(dir, '.flow/runs', run, 'tasks/end/0.json'), 'utf8')) as { artifacts: Record<string, { hash: string }> };
  return Object.fromEntries(Object.entries(rec.artifacts).map(([k, v]) => [k, v.hash]));
};
const firstLine = (s: string) => s.split('\n')[0]!.trim();

describe('robustness: crash loop', () => {
  it(`SIGKILL of one task worker (${KILLS_PER_OP}x) and of the orchestrator of replay, pull and gc (${KILLS_PER_OP}x each): fsck clean, finishing works, same artifacts`, async () => {
    const loc = await server.location();
    const env = { ...S3_TEST_ENV, FLOW_MIRROR_URL: `s3://${loc.bucket}/${loc.prefix}`, FLOW_S3_ENDPOINT: server.endpoint, FLOW_S3_FORCE_PATH_STYLE: 'true' };
    const dir = realpathSync(await tempProject());
    copyFlow(dir, 'foreach-squares.ts');
    const base = await flow(['run', ...FLOW_ARGS], { cwd: dir, env });
    expect(base.exitCode, base.stderr).toBe(0);
    const baseRun = firstLine(base.stdout);
    const reference = endHashes(dir, baseRun);
    const figures = { kills: 0, fsckFailures: 0, finished: 0, hashMismatches: 0, survivors: 0 };
    const check = async (what: string, remote = false) => {
      const fsck = await flow(['fsck'], { cwd: dir, env });
      if (fsck.exitCode !== 0) figures.fsckFailures++;
      expect(fsck.exitCode, `${what}: ${fsck.stdout}`).toBe(0);
      if (remote) {
        const rf = await flow(['fsck', '--remote'], { cwd: dir, env });
        if (rf.exitCode !== 0) figures.fsckFailures++;
        expect(rf.exitCode, `${what} (remote): ${rf.stdout}`).toBe(0);
      }
    };

    // 1. A task worker killed mid-run: that task fails (TASK_CRASHED), resume finishes the run.
    for (let i = 0; i < KILLS_PER_OP; i++) {
      const child = execa(process.execPath, [BIN, 'run', ...FLOW_ARGS], { cwd: dir, reject: false, env: { ...env, FLOW_MIRROR_AUTO_PUSH: 'false' } });
      let worker;
      for (let t = 0; t < 400 && !worker && child.exitCode === null; t++) {
        await sleep(10 + Math.random() * 20);
        worker = processesIn(dir).find((p) => isWorkerCommand(p.cmd));
      }
      expect(worker, 'a worker process to kill').toBeDefined();
      await sleep(Math.random() * 300);
      try {
        process.kill(worker!.pid, 'SIGKILL');
      } catch {
        /* it finished its work already */
      }
      const ended = await child;
      figures.kills++;
      await check(`worker kill ${i}`);
      const run = firstLine(ended.stdout);
      if (ended.exitCode !== 0) {
        expect(ended.stderr).toMatch(/TASK_CRASHED/);
        const resumed = await flow(['resume', 'flows/foreach-squares.ts', '--origin', run, '-q'], { cwd: dir, env });
        expect(resumed.exitCode, resumed.stderr).toBe(0);
        if (JSON.stringify(endHashes(dir, firstLine(resumed.stdout))) !== JSON.stringify(reference)) figures.hashMismatches++;
      } else if (JSON.stringify(endHashes(dir, run)) !== JSON.stringify(reference)) figures.hashMismatches++;
      figures.finished++;
    }

    // 2. The orchestrator of replay, pull and gc, killed at a random moment, then the same operation repeated.
    const other = realpathSync(await tempProject());
    const ops: Array<{ name: string; cwd: string; args: string[]; remote?: boolean; after: (r: Awaited<ReturnType<typeof flow>>) => void }> = [
      { name: 'replay', cwd: dir, args: ['replay', baseRun, '--max-workers', '2'], after: (r) => expect(r.exitCode, r.stdout + r.stderr).toBe(0) },
      { name: 'pull', cwd: other, args: ['pull', baseRun], remote: true, after: (r) => expect(r.exitCode, r.stderr).toBe(0) },
      { name: 'gc', cwd: dir, args: ['gc', '--keep', baseRun, '--grace-minutes', '0'], after: (r) => expect(r.exitCode, r.stderr).toBe(0) },
    ];
    for (const op of ops) {
      for (let i = 0; i < KILLS_PER_OP; i++) {
        const child = execa(process.execPath, [BIN, ...op.args], { cwd: op.cwd, reject: false, env });
        await sleep(300 + Math.random() * 1200);
        child.kill('SIGKILL');
        await child;
        figures.kills++;
        const left = await waitUntilGone(op.cwd, 1_500);
        figures.survivors += left.length;
        expect(left, `${op.name}: processes alive 1.5 s after the kill`).toEqual([]);
        const fsck = await flow(['fsck'], { cwd: op.cwd, env });
        if (fsck.exitCode !== 0) figures.fsckFailures++;
        expect(fsck.exitCode, `${op.name} kill ${i}: ${fsck.stdout}`).toBe(0);
        const again = await flow(op.args, { cwd: op.cwd, env });
        op.after(again);
        figures.finished++;
      }
    }
    // Whatever was killed, the original run is intact and reads the same everywhere.
    expect(endHashes(dir, baseRun)).toEqual(reference);
    expect(endHashes(other, baseRun)).toEqual(reference);
    await check('the end', true);
    printFigures('crash loop (worker, replay, pull, gc)', [
      ['kills', figures.kills],
      ['fsck failures', figures.fsckFailures],
      ['operations finished afterwards', figures.finished],
      ['hash mismatches vs. an uninterrupted run', figures.hashMismatches],
      ['processes alive 1.5 s after a kill', figures.survivors],
    ]);
    expect(figures.hashMismatches).toBe(0);
  });
});
