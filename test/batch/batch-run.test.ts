import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFlow, flow, tempProject } from '../helpers/cli.js';
import { type BatchWorld, batchTestsRunnable, configureBatch, ORCHESTRATOR_ENV, startBatchWorld } from '../helpers/batch.js';

let world: BatchWorld;
const runnable = batchTestsRunnable();
beforeAll(async () => {
  if (runnable) world = await startBatchWorld();
});
afterAll(async () => {
  await world?.stop();
});

interface EndpointJob {
  jobId: string;
  jobName: string;
  status: string;
  statusReason?: string;
  tags?: Record<string, string>;
  arrayProperties?: { size?: number; index?: number };
  container: { exitCode?: number };
}
const jobs = () => world.batch.emulator.allJobs() as unknown as EndpointJob[];
const artifact = async (cwd: string, path: string, name: string) => {
  const got = JSON.parse((await flow(['get', path, name, '--json'], { cwd })).stdout) as { value: unknown; hash: string };
  return { value: got.value, hash: got.hash };
};

async function project(files: string[] = ['batch-fanout.ts']): Promise<string> {
  const dir = await tempProject();
  for (const f of files) copyFlow(dir, f);
  await execa('git', ['add', '-A'], { cwd: dir });
  await execa('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=test', 'commit', '-qm', 'flows'], { cwd: dir });
  return dir;
}

describe.skipIf(!runnable)('flow run --with batch against the local Batch endpoint and the S3 test server', () => {
  it('runs every task as a Batch job, the foreach as one array job, with the artifacts of a local run', async () => {
    const dir = await project();
    await configureBatch(dir, world);
    const before = new Set(jobs().map((j) => j.jobId));
    const r = await flow(['run', 'flows/batch-fanout.ts', '--with', 'batch', '--seed', '7'], { cwd: dir, env: ORCHESTRATOR_ENV });
    expect(r.stderr).not.toMatch(/Internal error/);
    expect(r.exitCode, r.stderr).toBe(0);
    const mine = jobs().filter((j) => !before.has(j.jobId) && !j.jobId.includes(':'));
    // start, a, b, merge, split, fit (one array job of 50), gather, end
    expect(mine.map((j) => j.tags?.['flowrun:step']).sort()).toEqual(['a', 'b', 'end', 'fit', 'gather', 'merge', 'split', 'start']);
    const fit = mine.find((j) => j.tags?.['flowrun:step'] === 'fit')!;
    expect(fit.arrayProperties?.size).toBe(50);
    expect(mine.every((j) => j.status === 'SUCCEEDED')).toBe(true);
    expect(fit.jobName).toMatch(/^BatchFanoutFlow-run-1-fit$/);

    const local = await flow(['run', 'flows/batch-fanout.ts', '--seed', '7'], { cwd: dir });
    expect(local.exitCode, local.stderr).toBe(0);
    for (const [path, name] of [
      ['gather', 'total'],
      ['gather', 'noises'],
      ['end', 'both'],
      ['a', 'left'],
    ] as const) {
      expect(await artifact(dir, `run-1/${path}`, name)).toEqual(await artifact(dir, `run-2/${path}`, name));
    }
    expect((await artifact(dir, 'run-1/gather', 'total')).value).toBe(40425);
    const inspect = JSON.parse((await flow(['inspect', 'run-1', '--json'], { cwd: dir })).stdout) as { steps: Array<{ name: string; tasks: Array<{ artifacts: Record<string, { hash: string }> }> }> };
    const inspectLocal = JSON.parse((await flow(['inspect', 'run-2', '--json'], { cwd: dir })).stdout) as typeof inspect;
    const hashes = (x: typeof inspect) => x.steps.map((s) => [s.name, s.tasks.map((t) => Object.fromEntries(Object.entries(t.artifacts).map(([k, v]) => [k, v.hash])))]);
    expect(hashes(inspect)).toEqual(hashes(inspectLocal));
    const logs = await flow(['logs', 'run-1/fit/7'], { cwd: dir });
    expect(logs.stdout).toContain('split 7: 49');
    expect((await flow(['fsck'], { cwd: dir })).exitCode).toBe(0);
  }, 240_000);
});
