import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Run } from '../../src/client/client.js';
import { type BatchWorld, batchTestsRunnable, configureBatch, ORCHESTRATOR_ENV, startBatchWorld } from '../helpers/batch.js';
import { copyFlow, flow, tempProject } from '../helpers/cli.js';

// Job definitions that fit real queues (issue #15): the platform comes from the queue's compute
// environments; what a queue cannot run is refused before any job is submitted; a vanished host
// (Spot) is retried by Batch without spending @retry.

const runnable = batchTestsRunnable();
let world: BatchWorld;
let dir: string;
const EXEC_ROLE = 'arn:aws:iam::000000000000:role/flowrun-test-execution';

beforeAll(async () => {
  if (!runnable) return;
  world = await startBatchWorld({
    queues: ['flow-queue', 'fargate-queue', 'small-queue'],
    computeEnvironments: [
      { name: 'fargate', type: 'FARGATE_SPOT', maxvCpus: 16 },
      { name: 'small', type: 'EC2', maxvCpus: 4, instanceTypes: ['m5.large'] },
    ],
    queueEnvironments: { 'fargate-queue': ['fargate'], 'small-queue': ['small'] },
  });
  dir = await tempProject();
  copyFlow(dir, 'batch-mixed.ts');
}, 60_000);
afterAll(async () => {
  await world?.stop();
});

interface Def {
  jobDefinitionName: string;
  platformCapabilities?: string[];
  containerProperties: Record<string, unknown>;
}
interface EndpointJob {
  jobName: string;
  jobDefinition: string;
  status: string;
  tags?: Record<string, string>;
  attempts: Array<{ statusReason?: string }>;
}
const jobsOf = (run: string) => (world.batch.emulator.allJobs() as unknown as EndpointJob[]).filter((j) => j.jobName.startsWith(`BatchMixedFlow-${run}-`));
const definitionOf = (job: EndpointJob) => (world.batch.emulator.describeJobDefinitions({}).jobDefinitions as unknown as Array<Def & { jobDefinitionArn: string }>).find((d) => d.jobDefinitionArn === job.jobDefinition)!;

describe.skipIf(!runnable)('Batch job definitions that fit their queue', () => {
  it('a Fargate (Spot) queue gets a FARGATE definition with the execution role, network and disk; the job runs', async () => {
    await configureBatch(dir, world, { executionRoleArn: EXEC_ROLE, assignPublicIp: false });
    const r = await flow(['run', 'flows/batch-mixed.ts', '--with', 'batch:queue=fargate-queue,memory=4096,ephemeralStorage=40'], { cwd: dir, env: ORCHESTRATOR_ENV });
    expect(r.exitCode, r.stderr).toBe(0);
    const def = definitionOf(jobsOf('run-1').find((j) => j.tags?.['flowrun:step'] === 'heavy')!);
    expect(def.platformCapabilities).toEqual(['FARGATE']);
    expect(def.containerProperties).toMatchObject({
      executionRoleArn: EXEC_ROLE,
      networkConfiguration: { assignPublicIp: 'DISABLED' },
      fargatePlatformConfiguration: { platformVersion: 'LATEST' },
      ephemeralStorage: { sizeInGiB: 40 },
      resourceRequirements: [
        { type: 'VCPU', value: '2' },
        { type: 'MEMORY', value: '4096' },
      ],
      logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': '/aws/batch/job' } },
    });
    expect(def.containerProperties.linuxParameters).toBeUndefined();
  }, 120_000);

  it("a GPU on a Fargate queue, a size Fargate lacks, more memory than the queue's largest instance: exit 2 before any job exists", async () => {
    await configureBatch(dir, world, { executionRoleArn: EXEC_ROLE });
    const before = world.batch.emulator.allJobs().length;
    const gpu = await flow(['run', 'flows/batch-mixed.ts', '--with', 'batch:queue=fargate-queue,cpu=1,memory=2048,gpu=1'], { cwd: dir, env: ORCHESTRATOR_ENV });
    expect(gpu.exitCode).toBe(2);
    expect(gpu.stderr).toMatch(/BATCH_INVALID_FOR_QUEUE at flows\/batch-mixed\.ts: Step start: asks for 1 GPU, but job queue fargate-queue runs on FARGATE_SPOT, which has no GPUs/);
    const size = await flow(['run', 'flows/batch-mixed.ts', '--with', 'batch:queue=fargate-queue,cpu=2,memory=2048'], { cwd: dir, env: ORCHESTRATOR_ENV });
    expect(size.exitCode).toBe(2);
    expect(size.stderr).toMatch(/asks for 2 vCPU and 2048 MiB, which is not a Fargate size/);
    const big = await flow(['run', 'flows/batch-mixed.ts', '--with', 'batch:queue=small-queue,memory=16384'], { cwd: dir, env: ORCHESTRATOR_ENV });
    expect(big.exitCode).toBe(2);
    expect(big.stderr).toMatch(/asks for 16384 MiB, more than the largest instance of job queue small-queue has \(8192 MiB; instance types m5\.large\)/);
    expect(world.batch.emulator.allJobs().length).toBe(before);
    expect(gpu.stderr + size.stderr + big.stderr).not.toMatch(/run-\d+/);
  }, 120_000);

  it('EC2 options given with --with reach the job definition: shared memory, privileged', async () => {
    await configureBatch(dir, world);
    const r = await flow(['run', 'flows/batch-mixed.ts', '--with', 'batch:sharedMemory=2048,privileged=true'], { cwd: dir, env: ORCHESTRATOR_ENV });
    expect(r.exitCode, r.stderr).toBe(0);
    const heavy = jobsOf('run-2').find((j) => j.tags?.['flowrun:step'] === 'heavy')!;
    expect(definitionOf(heavy).platformCapabilities).toEqual(['EC2']);
    expect(definitionOf(heavy).containerProperties).toMatchObject({ linuxParameters: { sharedMemorySize: 2048 }, privileged: true });
  }, 120_000);

  it('a Spot-style host termination is retried by Batch without spending @retry', async () => {
    await configureBatch(dir, world);
    world.batch.emulator.setFaults({ rules: [{ effect: 'host-terminated', match: { jobName: '^BatchMixedFlow-run-3-heavy$' }, times: 1 }] });
    try {
      const r = await flow(['run', 'flows/batch-mixed.ts'], { cwd: dir, env: ORCHESTRATOR_ENV });
      expect(r.exitCode, r.stderr).toBe(0);
    } finally {
      world.batch.emulator.setFaults({ rules: [] });
    }
    const heavy = jobsOf('run-3').find((j) => j.tags?.['flowrun:step'] === 'heavy')!;
    expect(heavy.attempts.map((a) => a.statusReason)).toEqual(['Host EC2 (instance i-0123456789abcdef0) terminated.', 'Essential container in task exited']);
    expect(await (await Run.get('run-3', { store: join(dir, '.flow') })).step('end').task('0').artifact('result')).toBe(42);
    // One flowrun attempt (no @retry spent), which Batch ran twice.
    const record = JSON.parse(readFileSync(join(dir, '.flow', 'runs', 'run-3', 'tasks', 'heavy', '0.json'), 'utf8')) as { attempts: Array<{ status: string; remote?: { batchAttempts?: number } }> };
    expect(record.attempts.map((a) => [a.status, a.remote?.batchAttempts])).toEqual([['ok', 2]]);
  }, 120_000);
});
