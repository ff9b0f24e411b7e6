import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatchClient } from '@aws-sdk/client-batch';
import { JobDefinitions } from '../../src/batch/api.js';
import { BatchBackend } from '../../src/batch/backend.js';
import { ObjectBridge } from '../../src/batch/objects.js';
import { LocalStore } from '../../src/store/local.js';
import type { TaskJob } from '../../src/task/protocol.js';
import { startBatchEndpoint } from '../../tools/batch-endpoint/index.js';
import { S3_TEST_ENV, startS3Server } from '../../tools/s3-test-server/launch.js';
import { BIN, benchProject, foreachFlowSource, ms, type Section } from '../util.js';

const execFileAsync = promisify(execFile);
const S3_ENV = { ...S3_TEST_ENV };

/** Wall time and CPU (user+sys) of `flow run`, via GNU time; asynchronous, because the endpoint serves from this process. */
async function timed(dir: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ wall: number; cpu: number }> {
  const r = await execFileAsync('/usr/bin/time', ['-f', '%e %U %S', process.execPath, BIN, 'run', ...args, '-q'], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 })
    .catch((e: { stderr?: string }) => { throw new Error(`flow run ${args.join(' ')} failed: ${e.stderr ?? String(e)}`); });
  const [wall, user, sys] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number, number];
  return { wall: wall * 1000, cpu: (user + sys) * 1000 };
}

/**
 * The API calls the backend makes for one 1,000-task foreach step: 1,000 attempts handed over in
 * one tick, jobs that each take ~50 ms on a 16-slot endpoint (the tasks themselves are not run:
 * the count depends on the submission and polling pattern only).
 */
async function callsFor1000(): Promise<Record<string, number>> {
  const endpoint = await startBatchEndpoint({ slots: 16, queues: ['q'] });
  const client = new BatchClient({ endpoint: endpoint.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const scratch = benchProject({});
  const store = LocalStore.open(join(scratch, 'store'));
  const backend = new BatchBackend({
    client, config: { endpoint: endpoint.url }, run: 'run-1', flow: 'Fe', remote: store, bridge: new ObjectBridge(store, store),
    definitions: new JobDefinitions(client, ['sleep', '0.05'], undefined, undefined),
    code: { hash: store.putObjectSync(Buffer.from('code')), file: 'fe.ts', cwd: '.', lock: null },
    steps: new Map([['work', { queue: 'q', image: 'node:20', cpu: 1, memory: 512, gpu: 0 }]]),
    environment: {}, pollMs: { min: 250, max: 1000 }, runnableLimitMs: 600_000, info: () => {},
  });
  const job = (i: number): TaskJob => ({ run: 'run-1', flow: 'Fe', step: 'work', taskId: String(i), attempt: 0, modulePath: '', storeRoot: '', params: {}, seed: 0, inherited: {}, maxNumSplits: 10_000, env: {} });
  await Promise.all(Array.from({ length: 1000 }, (_, i) => backend.run(job(i), { attempts: 1, retryDelayMs: 0, printException: true, env: {} })));
  backend.close();
  const calls = { ...endpoint.emulator.calls };
  client.destroy();
  await endpoint.close();
  rmSync(scratch, { recursive: true, force: true });
  return calls;
}

export async function batch(): Promise<Section[]> {
  const calls = await callsFor1000();
  const total = Object.values(calls).reduce((a, b) => a + b, 0);

  const dir = benchProject({ 'fe.ts': foreachFlowSource(200, '(this.input as number) * 2') });
  const s3 = await startS3Server(join(dir, 's3-data'));
  const endpoint = await startBatchEndpoint({ slots: 4, queues: ['flow-queue'], roleCredentials: { '*': S3_ENV } });
  try {
    const bucket = await s3.bucket();
    writeFileSync(join(dir, '.flowrc'), JSON.stringify({
      mirror: { url: `s3://${bucket}/flows`, endpoint: s3.endpoint, forcePathStyle: true, autoPush: false },
      batch: { queue: 'flow-queue', endpoint: endpoint.url, jobRoleArn: 'arn:aws:iam::0:role/bench' },
    }));
    await timed(dir, ['fe.ts', '--n', '2'], S3_ENV); // compile and warm caches
    const local = await timed(dir, ['fe.ts', '--n', '200', '--max-workers', '4'], S3_ENV);
    const before = { ...endpoint.emulator.calls };
    const onBatch = await timed(dir, ['fe.ts', '--n', '200', '--with', 'batch'], S3_ENV);
    const runCalls = Object.fromEntries(Object.entries(endpoint.emulator.calls).map(([k, v]) => [k, v - (before[k] ?? 0)]));
    const tasks = 203;
    return [{
      title: 'AWS Batch backend (local Batch endpoint + S3 test server)',
      command: '1,000-task step: BatchBackend against tools/batch-endpoint (16 slots, ~50 ms jobs); 200-split: `flow run` whole process (GNU time), trivial foreach, 4 slots vs --max-workers 4',
      rows: [
        { name: 'SubmitJob calls, 1,000-split foreach', value: String(calls.SubmitJob ?? 0), note: 'one array job; Metaflow submits one job per task: 1,000' },
        { name: 'DescribeJobs calls, 1,000-split foreach', value: String(calls.DescribeJobs ?? 0), note: 'one id (the array parent) per call' },
        { name: 'ListJobs calls, 1,000-split foreach', value: String(calls.ListJobs ?? 0), note: 'finished children, only when the summary changed' },
        { name: 'all Batch API calls, 1,000-split foreach', value: String(total), note: JSON.stringify(calls) },
        { name: 'wall time, 200-split trivial foreach, local backend', value: ms(local.wall) },
        { name: 'wall time, 200-split trivial foreach, --with batch (local endpoint)', value: ms(onBatch.wall), note: `${(onBatch.wall / local.wall).toFixed(1)}× local: each task is a fresh process that loads the SDK, fetches the code package and inputs from S3 and compiles the flow` },
        { name: 'orchestrator CPU per task, --with batch', value: ms(onBatch.cpu / tasks), note: `local backend: ${ms(local.cpu / tasks)} (the local figure includes the tasks' own work in workers)` },
        { name: 'Batch API calls of the 200-split run (all steps)', value: String(Object.values(runCalls).reduce((a, b) => a + b, 0)), note: JSON.stringify(runCalls) },
      ],
    }];
  } finally {
    await endpoint.close();
    await s3.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
