import { BatchClient, DescribeJobQueuesCommand, DescribeJobsCommand, type JobDetail, ListJobsCommand, RegisterJobDefinitionCommand, SubmitJobCommand, TerminateJobCommand } from '@aws-sdk/client-batch';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BatchEndpoint, startBatchEndpoint } from '../../tools/batch-endpoint/index.js';
import { tempDir } from '../helpers/cli.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
let endpoint: BatchEndpoint;
let batch: BatchClient;

beforeAll(async () => {
  endpoint = await startBatchEndpoint({ slots: 2, queues: ['q1'], stepMs: 5, roleCredentials: { 'arn:aws:iam::000000000000:role/job': { AWS_ACCESS_KEY_ID: 'ROLEKEY', AWS_SECRET_ACCESS_KEY: 'ROLESECRET' } } });
  batch = new BatchClient({ endpoint: endpoint.url, region: 'us-east-1', credentials });
});
afterAll(async () => {
  batch.destroy();
  await endpoint.close();
});

/**
 * A job definition whose command is node running `script` (the local machine is the image). Jobs
 * run in an isolated root, so a host folder `out` reaches them only as a host volume, at /out.
 */
async function definition(name: string, script: string, extra: Record<string, unknown> = {}, out?: string): Promise<string> {
  const volume = out ? { volumes: [{ name: 'out', host: { sourcePath: out } }], mountPoints: [{ sourceVolume: 'out', containerPath: '/out' }] } : {};
  const r = await batch.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: name,
      type: 'container',
      containerProperties: {
        image: 'node:20',
        command: [process.execPath, '-e', script],
        jobRoleArn: 'arn:aws:iam::000000000000:role/job',
        resourceRequirements: [
          { type: 'VCPU', value: '1' },
          { type: 'MEMORY', value: '512' },
        ],
        ...volume,
      },
      ...extra,
    }),
  );
  return r.jobDefinitionArn!;
}

async function describe1(id: string): Promise<JobDetail> {
  return (await batch.send(new DescribeJobsCommand({ jobs: [id] }))).jobs![0]!;
}

/** Polls until the job is SUCCEEDED or FAILED; returns every status seen on the way and the final detail. */
async function settle(id: string, until: (j: JobDetail) => boolean = (j) => j.status === 'SUCCEEDED' || j.status === 'FAILED'): Promise<{ seen: string[]; job: JobDetail }> {
  const seen: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const job = await describe1(id);
    if (seen.at(-1) !== job.status) seen.push(job.status!);
    if (until(job)) return { seen, job };
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`job ${id} did not settle`);
}

const WRITE_ENV = `require('fs').writeFileSync(require('path').join(process.env.OUT, process.env.AWS_BATCH_JOB_ID.replace(':', '_') + '.json'), JSON.stringify(process.env))`;

describe('local Batch endpoint with the real BatchClient', () => {
  it('runs a job through the state machine with the environment Batch sets', async () => {
    const out = tempDir();
    const def = await definition('env-dump', WRITE_ENV, { containerProperties: undefined });
    await definition('env-dump', WRITE_ENV, {}, out);
    const sub = await batch.send(
      new SubmitJobCommand({
        jobName: 'flow-run-1-start',
        jobQueue: 'q1',
        jobDefinition: 'env-dump',
        containerOverrides: {
          environment: [
            { name: 'OUT', value: '/out' },
            { name: 'GREETING', value: 'hi' },
          ],
        },
        tags: { flow: 'F' },
      }),
    );
    expect(def).toMatch(/job-definition\/env-dump:1$/);
    const { seen, job } = await settle(sub.jobId!);
    // Every state, in order, as the state machine moved; the poller (on a loaded machine) may miss
    // the short ones but never sees a state out of that order.
    const history: string[] = endpoint.emulator.statusHistory.get(sub.jobId!)!;
    expect(history).toEqual(['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED']);
    expect(seen.at(-1)).toBe('SUCCEEDED');
    expect(seen.map((st) => history.indexOf(st))).toEqual([...seen.map((st) => history.indexOf(st))].sort((a, b) => a - b));
    expect(seen.every((st) => history.includes(st))).toBe(true);
    expect(job.jobDefinition).toMatch(/env-dump:2$/); // the latest active revision
    expect(job.attempts).toHaveLength(1);
    expect(job.container?.exitCode).toBe(0);
    expect(job.tags).toEqual({ flow: 'F' });
    const env = JSON.parse(readFileSync(join(out, `${sub.jobId}.json`), 'utf8')) as Record<string, string>;
    expect(env).toMatchObject({ AWS_BATCH_JOB_ID: sub.jobId, AWS_BATCH_JOB_ATTEMPT: '1', AWS_BATCH_JQ_NAME: 'q1', GREETING: 'hi', AWS_ACCESS_KEY_ID: 'ROLEKEY', AWS_SECRET_ACCESS_KEY: 'ROLESECRET' });
    expect(env.AWS_BATCH_JOB_ARRAY_INDEX).toBeUndefined();
  });

  it('runs an array job as children parent:index and summarises them on the parent', async () => {
    const out = tempDir();
    await definition('array-env', WRITE_ENV, {}, out);
    const sub = await batch.send(new SubmitJobCommand({ jobName: 'arr', jobQueue: 'q1', jobDefinition: 'array-env', arrayProperties: { size: 3 }, containerOverrides: { environment: [{ name: 'OUT', value: '/out' }] } }));
    const { job } = await settle(sub.jobId!);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.arrayProperties).toMatchObject({ size: 3, statusSummary: { SUCCEEDED: 3, FAILED: 0 } });
    for (const k of [0, 1, 2]) {
      const env = JSON.parse(readFileSync(join(out, `${sub.jobId}_${k}.json`), 'utf8')) as Record<string, string>;
      expect(env.AWS_BATCH_JOB_ARRAY_INDEX).toBe(String(k));
      expect(env.AWS_BATCH_JOB_ID).toBe(`${sub.jobId}:${k}`);
    }
    const children = await batch.send(new ListJobsCommand({ arrayJobId: sub.jobId, jobStatus: 'SUCCEEDED' }));
    expect(children.jobSummaryList!.map((c) => c.arrayProperties?.index).sort()).toEqual([0, 1, 2]);
    expect((await describe1(`${sub.jobId}:1`)).arrayProperties).toEqual({ index: 1 });
  });

  it('never runs more jobs at once than it has slots', async () => {
    const out = tempDir();
    await definition('spans', `const f=require('path').join(process.env.OUT, process.env.AWS_BATCH_JOB_ID.replace(':','_'));const s=Date.now();setTimeout(()=>require('fs').writeFileSync(f, JSON.stringify([s, Date.now()])),150)`, {}, out);
    const sub = await batch.send(new SubmitJobCommand({ jobName: 'spans', jobQueue: 'q1', jobDefinition: 'spans', arrayProperties: { size: 5 }, containerOverrides: { environment: [{ name: 'OUT', value: '/out' }] } }));
    await settle(sub.jobId!);
    const spans = [0, 1, 2, 3, 4].map((k) => JSON.parse(readFileSync(join(out, `${sub.jobId}_${k}`), 'utf8')) as [number, number]);
    const maxOverlap = Math.max(...spans.map(([s]) => spans.filter(([a, b]) => a <= s && s < b).length));
    expect(maxOverlap).toBe(2);
  });

  it('retries a failed attempt up to retryStrategy.attempts, with AWS_BATCH_JOB_ATTEMPT counting', async () => {
    await definition('flaky', `process.exit(process.env.AWS_BATCH_JOB_ATTEMPT === '2' ? 0 : 3)`);
    const ok = await batch.send(new SubmitJobCommand({ jobName: 'flaky', jobQueue: 'q1', jobDefinition: 'flaky', retryStrategy: { attempts: 2 } }));
    const bad = await batch.send(new SubmitJobCommand({ jobName: 'flaky1', jobQueue: 'q1', jobDefinition: 'flaky' }));
    const a = (await settle(ok.jobId!)).job;
    expect(a.status).toBe('SUCCEEDED');
    expect(a.attempts!.map((t) => t.container?.exitCode)).toEqual([3, 0]);
    const b = (await settle(bad.jobId!)).job;
    expect(b.status).toBe('FAILED');
    expect(b.container?.exitCode).toBe(3);
    expect(b.statusReason).toBe('Essential container in task exited');
  });

  it('injects faults: a failing child, an out-of-memory kill, a job stuck in RUNNABLE, throttled DescribeJobs', async () => {
    await definition('ok', `0`);
    await endpoint.emulator.setFaults({
      rules: [
        { effect: 'fail', match: { jobName: '^faulty$', arrayIndex: 1 } },
        { effect: 'oom', match: { jobName: '^oom$' } },
        { effect: 'stuck', match: { jobName: '^stuck$' } },
      ],
    });
    const arr = await batch.send(new SubmitJobCommand({ jobName: 'faulty', jobQueue: 'q1', jobDefinition: 'ok', arrayProperties: { size: 3 } }));
    const oom = await batch.send(new SubmitJobCommand({ jobName: 'oom', jobQueue: 'q1', jobDefinition: 'ok' }));
    const stuck = await batch.send(new SubmitJobCommand({ jobName: 'stuck', jobQueue: 'q1', jobDefinition: 'ok' }));
    const parent = (await settle(arr.jobId!)).job;
    expect(parent.status).toBe('FAILED');
    expect(parent.arrayProperties?.statusSummary).toMatchObject({ SUCCEEDED: 2, FAILED: 1 });
    expect((await describe1(`${arr.jobId}:1`)).container?.exitCode).toBe(1);
    const o = (await settle(oom.jobId!)).job;
    expect(o.container).toMatchObject({ exitCode: 137, reason: expect.stringMatching(/^OutOfMemoryError/) });
    await new Promise((r) => setTimeout(r, 100));
    expect((await describe1(stuck.jobId!)).status).toBe('RUNNABLE');
    await batch.send(new TerminateJobCommand({ jobId: stuck.jobId, reason: 'gave up waiting' }));
    expect(await describe1(stuck.jobId!)).toMatchObject({ status: 'FAILED', statusReason: 'gave up waiting' });

    endpoint.emulator.setFaults({ rules: [], throttleDescribeJobs: 1 });
    const once = new BatchClient({ endpoint: endpoint.url, region: 'us-east-1', credentials, maxAttempts: 1 });
    await expect(once.send(new DescribeJobsCommand({ jobs: [oom.jobId!] }))).rejects.toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } });
    endpoint.emulator.setFaults({ rules: [], throttleDescribeJobs: 1 });
    const before = endpoint.emulator.calls.DescribeJobs ?? 0;
    expect((await batch.send(new DescribeJobsCommand({ jobs: [oom.jobId!] }))).jobs).toHaveLength(1); // the SDK's retry absorbs it
    expect(endpoint.emulator.calls.DescribeJobs).toBe(before + 2);
    once.destroy();
  });

  it('terminates a running job and its array children, recording the reason', async () => {
    await definition('sleeper', `setTimeout(() => {}, 60000)`);
    const arr = await batch.send(new SubmitJobCommand({ jobName: 'sleepers', jobQueue: 'q1', jobDefinition: 'sleeper', arrayProperties: { size: 4 } }));
    await settle(`${arr.jobId}:0`, (j) => j.status === 'RUNNING');
    await batch.send(new TerminateJobCommand({ jobId: arr.jobId, reason: 'Run interrupted by user' }));
    const parent = (await settle(arr.jobId!)).job;
    expect(parent.status).toBe('FAILED');
    for (const k of [0, 1, 2, 3]) expect(await describe1(`${arr.jobId}:${k}`)).toMatchObject({ status: 'FAILED', statusReason: 'Run interrupted by user' });
  });

  it('answers bad requests with ClientException as AWS does', async () => {
    await definition('ok2', `0`);
    await expect(batch.send(new SubmitJobCommand({ jobName: 'x', jobQueue: 'nope', jobDefinition: 'ok2' }))).rejects.toMatchObject({ name: 'ClientException', message: expect.stringContaining('nope') });
    await expect(batch.send(new SubmitJobCommand({ jobName: 'x', jobQueue: 'q1', jobDefinition: 'missing' }))).rejects.toMatchObject({ name: 'ClientException' });
    await expect(batch.send(new DescribeJobsCommand({ jobs: Array.from({ length: 101 }, (_, i) => String(i)) }))).rejects.toMatchObject({ name: 'ClientException' });
    expect((await batch.send(new DescribeJobQueuesCommand({ jobQueues: ['q1', 'nope'] }))).jobQueues!.map((q) => q.jobQueueName)).toEqual(['q1']);
  });
});
