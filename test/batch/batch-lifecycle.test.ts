import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { copyFlow, flow, tempProject } from '../helpers/cli.js';
import { type BatchWorld, batchTestsRunnable, configureBatch, ORCHESTRATOR_ENV, startBatchWorld } from '../helpers/batch.js';
import { BIN } from '../helpers/cli.js';

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
  createdAt: number;
  status: string;
  statusReason?: string;
  tags?: Record<string, string>;
  arrayProperties?: { size?: number; index?: number };
  container: { exitCode?: number; resourceRequirements?: Array<{ type: string; value: string }> };
}
/** Every test's project starts at run-1: only jobs submitted since the current test began are its own. */
let since = 0;
beforeEach(() => {
  since = Date.now();
});
const jobsOf = (run: string, flowName: string) => (world.batch.emulator.allJobs() as unknown as EndpointJob[]).filter((j) => j.createdAt >= since && j.jobName.startsWith(`${flowName}-${run}-`));

async function project(files: string[]): Promise<string> {
  const dir = await tempProject();
  for (const f of files) copyFlow(dir, f);
  await execa('git', ['add', '-A'], { cwd: dir });
  await execa('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=test', 'commit', '-qm', 'flows'], { cwd: dir });
  return dir;
}

describe.skipIf(!runnable)('Batch backend: mixed steps, failures, interrupts, configuration errors', () => {
  it('sends only the @batch step to Batch, with @resources/@batch as its resource requirements', async () => {
    const dir = await project(['batch-mixed.ts']);
    await configureBatch(dir, world);
    const r = await flow(['run', 'flows/batch-mixed.ts'], { cwd: dir, env: ORCHESTRATOR_ENV });
    expect(r.exitCode, r.stderr).toBe(0);
    const jobs = jobsOf('run-1', 'BatchMixedFlow');
    expect(jobs.map((j) => j.tags?.['flowrun:step'])).toEqual(['heavy']);
    expect(jobs[0]!.container.resourceRequirements).toEqual([
      { type: 'VCPU', value: '2' },
      { type: 'MEMORY', value: '2048' },
    ]);
    const where = JSON.parse((await flow(['get', 'run-1/heavy', 'where', '--json'], { cwd: dir })).stdout) as { value: string };
    expect(where.value).toBe('batch');
    const result = JSON.parse((await flow(['get', 'run-1/end', 'result', '--json'], { cwd: dir })).stdout) as { value: number };
    expect(result.value).toBe(42);
  }, 120_000);

  it('works with S3 as the primary store (FLOW_STORE=s3://…): results land in S3 and in the local cache', async () => {
    const dir = await project(['batch-mixed.ts']);
    const bucket = await configureBatch(dir, world, {}, { primary: true });
    const r = await flow(['run', 'flows/batch-mixed.ts'], { cwd: dir, env: { ...ORCHESTRATOR_ENV, FLOW_STORE: `s3://${bucket}/primary` } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jobsOf('run-1', 'BatchMixedFlow').map((j) => j.tags?.['flowrun:step'])).toEqual(['heavy']);
    const result = JSON.parse((await flow(['get', 'run-1/end', 'result', '--json'], { cwd: dir, env: { ...ORCHESTRATOR_ENV, FLOW_STORE: `s3://${bucket}/primary` } })).stdout) as { value: number };
    expect(result.value).toBe(42);
    expect((await flow(['fsck', '--remote'], { cwd: dir, env: { ...ORCHESTRATOR_ENV, FLOW_STORE: `s3://${bucket}/primary` } })).exitCode).toBe(0);
  }, 120_000);

  it('reports a failed array child with its index and exit code, and @retry resubmits only that child', async () => {
    const dir = await project(['seeded-random.ts']);
    await configureBatch(dir, world);
    world.batch.emulator.setFaults({
      rules: [
        { effect: 'fail', match: { jobName: '^SeededRandomFlow-run-1-draw$', arrayIndex: 2 } },
        { effect: 'fail', match: { jobName: '^SeededRandomFlow-run-2-draw$', arrayIndex: 1 } },
      ],
    });
    try {
      const failed = await flow(['run', 'flows/seeded-random.ts', '--with', 'batch'], { cwd: dir, env: ORCHESTRATOR_ENV });
      expect(failed.exitCode).toBe(1);
      expect(failed.stderr).toMatch(/draw\/2.*BATCH_JOB_FAILED.*array index 2\).*exit code 1/);

      const retried = await flow(['run', 'flows/seeded-random.ts', '--with', 'batch', '--with', 'retry:times=1'], { cwd: dir, env: ORCHESTRATOR_ENV });
      expect(retried.exitCode, retried.stderr).toBe(0);
      const draw = jobsOf('run-2', 'SeededRandomFlow').filter((j) => j.tags?.['flowrun:step'] === 'draw' && !j.jobId.includes(':'));
      expect(draw.map((j) => [j.jobName, j.arrayProperties?.size])).toEqual([
        ['SeededRandomFlow-run-2-draw', 3],
        ['SeededRandomFlow-run-2-draw-retry1', undefined],
      ]);
      const task = JSON.parse((await flow(['inspect', 'run-2', '--json'], { cwd: dir })).stdout) as { steps: Array<{ name: string; tasks: Array<{ id: string; attempts: number | unknown[] }> }> };
      const attempts = task.steps.find((s) => s.name === 'draw')!.tasks.map((t) => [t.id, Array.isArray(t.attempts) ? t.attempts.length : t.attempts]);
      expect(attempts).toEqual([
        ['0', 1],
        ['1', 2],
        ['2', 1],
      ]);
    } finally {
      world.batch.emulator.setFaults({ rules: [] });
    }
  }, 120_000);

  it('reports exit 137 as out of memory with the requested memory', async () => {
    const dir = await project(['batch-mixed.ts']);
    await configureBatch(dir, world);
    world.batch.emulator.setFaults({ rules: [{ effect: 'oom', match: { jobName: '^BatchMixedFlow-run-1-heavy$' } }] });
    try {
      const r = await flow(['run', 'flows/batch-mixed.ts'], { cwd: dir, env: ORCHESTRATOR_ENV });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/TASK_OOM: Task heavy\/0 \(Batch job [0-9a-f-]+\) ran out of memory: it was killed \(exit 137\) with 2048 MiB requested/);
    } finally {
      world.batch.emulator.setFaults({ rules: [] });
    }
  }, 120_000);

  it('fails a job stuck in RUNNABLE past batch.runnableTimeoutSeconds, naming the queue', async () => {
    const dir = await project(['batch-mixed.ts']);
    await configureBatch(dir, world, { runnableTimeoutSeconds: 1 });
    world.batch.emulator.setFaults({ rules: [{ effect: 'stuck', match: { jobName: '^BatchMixedFlow-run-1-heavy$' } }] });
    try {
      const r = await flow(['run', 'flows/batch-mixed.ts'], { cwd: dir, env: ORCHESTRATOR_ENV });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/BATCH_STUCK_RUNNABLE: Step heavy: Batch job \S+ stayed RUNNABLE for 1 s in queue flow-queue/);
      expect(jobsOf('run-1', 'BatchMixedFlow')[0]!.status).toBe('FAILED');
    } finally {
      world.batch.emulator.setFaults({ rules: [] });
    }
  }, 120_000);

  it('Ctrl-C terminates every active job and records the run as interrupted', async () => {
    const dir = await project(['batch-sleep.ts']);
    await configureBatch(dir, world);
    const child = execa(process.execPath, [BIN, 'run', 'flows/batch-sleep.ts', '--with', 'batch'], { cwd: dir, env: ORCHESTRATOR_ENV, reject: false });
    for (let i = 0; i < 600; i++) {
      const naps = jobsOf('run-1', 'BatchSleepFlow').filter((j) => j.jobId.includes(':'));
      if (naps.length === 3 && naps.some((j) => j.status === 'RUNNING')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    for (let i = 0; i < 100 && jobsOf('run-1', 'BatchSleepFlow').some((j) => j.status !== 'FAILED' && j.status !== 'SUCCEEDED'); i++) await new Promise((res) => setTimeout(res, 100));
    const naps = jobsOf('run-1', 'BatchSleepFlow').filter((j) => j.tags?.['flowrun:step'] === 'nap');
    expect(naps).toHaveLength(4); // the array job and its 3 children
    for (const j of naps) expect(j).toMatchObject({ status: 'FAILED', statusReason: 'flowrun: run run-1 interrupted' });
    const runs = JSON.parse((await flow(['runs', '--json'], { cwd: dir })).stdout) as Array<{ id: string; status: string }> | { runs: Array<{ id: string; status: string }> };
    const list = Array.isArray(runs) ? runs : runs.runs;
    expect(list.find((x) => x.id === 'run-1')?.status).toBe('interrupted');
  }, 120_000);

  it('refuses to start when the queue does not exist (exit 4) or no S3 store is configured (exit 2)', async () => {
    const dir = await project(['batch-mixed.ts']);
    await configureBatch(dir, world);
    const missing = await flow(['run', 'flows/batch-mixed.ts', '--with', 'batch:queue=no-such-queue'], { cwd: dir, env: ORCHESTRATOR_ENV });
    expect(missing.exitCode).toBe(4);
    expect(missing.stderr).toMatch(/job queue no-such-queue does not exist/);
    expect(missing.stderr).not.toMatch(/at \S+\.js/);

    const local = await project(['batch-mixed.ts']);
    const noS3 = await flow(['run', 'flows/batch-mixed.ts', '--with', 'batch:queue=flow-queue'], { cwd: local });
    expect(noS3.exitCode).toBe(2);
    expect(noS3.stderr).toMatch(/needs an S3 store/);
    expect(noS3.stderr).toMatch(/"store": "s3:\/\/<bucket>\/<prefix>"/);
    const bad = await flow(['run', 'flows/batch-mixed.ts', '--with', 'batch:cpus=2'], { cwd: local });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/unknown option 'cpus'/);
  }, 120_000);

  it('flow replay RUN --with batch reproduces a seeded-random run on Batch', async () => {
    const dir = await project(['seeded-random.ts']);
    await configureBatch(dir, world);
    const r = await flow(['run', 'flows/seeded-random.ts'], { cwd: dir, env: ORCHESTRATOR_ENV });
    expect(r.exitCode, r.stderr).toBe(0);
    const replay = await flow(['replay', 'run-1', '--with', 'batch'], { cwd: dir, env: ORCHESTRATOR_ENV });
    expect(replay.exitCode, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/run-2: reproduced run-1 bit for bit/);
    expect(
      jobsOf('run-2', 'SeededRandomFlow')
        .filter((j) => !j.jobId.includes(':'))
        .map((j) => j.tags?.['flowrun:step'])
        .sort(),
    ).toEqual(['draw', 'end', 'join', 'start']);
  }, 120_000);
});
