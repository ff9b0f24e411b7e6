import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchClient } from '@aws-sdk/client-batch';
import { JobDefinitions } from '../../src/batch/api.js';
import { BatchBackend } from '../../src/batch/backend.js';
import { ObjectBridge } from '../../src/batch/objects.js';
import { LocalStore } from '../../src/store/local.js';
import type { TaskJob } from '../../src/task/protocol.js';
import { startBatchEndpoint } from '../../tools/batch-endpoint/index.js';
import { S3_TEST_ENV, startS3Server } from '../../tools/s3-test-server/launch.js';
import { BIN, benchProject, foreachFlowSource, median, ms, type Section } from '../util.js';
import type { BatchTaskResult, BootstrapStats } from '../../src/batch/payload.js';
import { S3Client } from '@aws-sdk/client-s3';
import { S3Store, s3ClientConfig } from '../../src/store/s3.js';

const execFileAsync = promisify(execFile);
const S3_ENV = { ...S3_TEST_ENV };

/** Wall time and CPU (user+sys) of `flow run`, via GNU time; asynchronous, because the endpoint serves from this process. */
async function timed(dir: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ wall: number; cpu: number }> {
  const r = await execFileAsync('/usr/bin/time', ['-f', '%e %U %S', process.execPath, BIN, 'run', ...args, '-q'], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 }).catch((e: { stderr?: string }) => {
    throw new Error(`flow run ${args.join(' ')} failed: ${e.stderr ?? String(e)}`);
  });
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
    client,
    config: { endpoint: endpoint.url },
    run: 'run-1',
    flow: 'Fe',
    remote: store,
    bridge: new ObjectBridge(store, store),
    definitions: new JobDefinitions(client, { command: ['sleep', '0.05'] }, new Map(), undefined),
    code: { hash: store.putObjectSync(Buffer.from('code')), file: 'fe.ts', cwd: '.' },
    module: async () => store.putObjectSync(Buffer.from('module')),
    envs: () => ({}),
    steps: new Map([['work', { queue: 'q', image: 'node:20', cpu: 1, memory: 512, gpu: 0, hostRetries: 0, options: {} }]]),
    environment: {},
    pollMs: { min: 250, max: 1000 },
    runnableLimitMs: 600_000,
    info: () => {},
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

/** Bootstrap figures of the jobs of one run: job CPU (GNU time over the job's process tree) and what each job reported. */
async function bootstrapFigures(store: S3Store, run: string, cpu: Map<string, number[]>, jobIds: string[]): Promise<{ jobCpu: number; loader: number; setup: number; bytes: Record<string, number>; phases: Record<string, number>; n: number }> {
  const stats: BootstrapStats[] = [];
  for await (const { key } of store.listKeys(store.key(`batch/${run}/`))) {
    if (!key.endsWith('.json') || key.endsWith('.live.json')) continue;
    const rec = await store.readRecord<BatchTaskResult>(key.slice(store.loc.prefix.length));
    if (rec?.bootstrap) stats.push(rec.bootstrap);
  }
  const kinds = [...new Set(stats.flatMap((s) => Object.keys(s.bytes)))];
  const phaseNames = [...new Set(stats.flatMap((s) => Object.keys(s.phases ?? {})))];
  return {
    n: stats.length,
    jobCpu: median(jobIds.flatMap((id) => cpu.get(id) ?? [])),
    loader: median(stats.map((s) => s.loaderCpuMs)),
    setup: median(stats.map((s) => s.setupCpuMs)),
    bytes: Object.fromEntries(kinds.map((k) => [k, median(stats.map((s) => s.bytes[k] ?? 0))])),
    phases: Object.fromEntries(phaseNames.map((k) => [k, median(stats.map((s) => s.phases?.[k] ?? 0))])),
  };
}

const kb = (n: number) => `${(n / 1024).toFixed(n < 10_240 ? 1 : 0)} KiB`;

export async function batch(): Promise<Section[]> {
  const calls = await callsFor1000();
  const total = Object.values(calls).reduce((a, b) => a + b, 0);

  const dir = benchProject({ 'fe.ts': foreachFlowSource(200, '(this.input as number) * 2') });
  // Outside the project: its files go into every run's code package.
  const scratch = mkdtempSync(join(tmpdir(), 'flowrun-bench-batch-'));
  const cache = join(scratch, 'cache');
  const env = { ...S3_ENV, FLOW_CACHE_DIR: cache };
  const s3 = await startS3Server(join(scratch, 's3-data'));
  // "warm": an image that already holds this flowrun's bundle (the prebuilt-image way, or a host volume at the cache).
  const endpoint = await startBatchEndpoint({
    slots: 4,
    queues: ['flow-queue'],
    roleCredentials: { '*': S3_ENV },
    measureCpu: true,
    images: { 'flowrun-bench/warm': { mounts: [{ host: join(cache, 'batch-bundles'), container: '/root/.cache/flowrun/batch-bundles' }] } },
  });
  try {
    const bucket = await s3.bucket();
    writeFileSync(
      join(dir, '.flowrc'),
      JSON.stringify({
        mirror: { url: `s3://${bucket}/flows`, endpoint: s3.endpoint, forcePathStyle: true, autoPush: false },
        batch: { queue: 'flow-queue', endpoint: endpoint.url, jobRoleArn: 'arn:aws:iam::0:role/bench' },
      }),
    );
    await timed(dir, ['fe.ts', '--n', '2'], env); // compile and warm caches
    const local = await timed(dir, ['fe.ts', '--n', '200', '--max-workers', '4'], env);
    await timed(dir, ['fe.ts', '--n', '2', '--with', 'batch'], env); // build the bundle once (per flowrun build)
    const jobsBefore = new Set(endpoint.emulator.allJobs().map((j) => j.jobId));
    const before = { ...endpoint.emulator.calls };
    const onBatch = await timed(dir, ['fe.ts', '--n', '200', '--with', 'batch'], env);
    const runCalls = Object.fromEntries(Object.entries(endpoint.emulator.calls).map(([k, v]) => [k, v - (before[k] ?? 0)]));
    const coldJobs = endpoint.emulator
      .allJobs()
      .map((j) => j.jobId)
      .filter((id) => !jobsBefore.has(id));
    const warmBefore = new Set(endpoint.emulator.allJobs().map((j) => j.jobId));
    await timed(dir, ['fe.ts', '--n', '20', '--with', 'batch:image=flowrun-bench/warm'], env);
    const warmJobs = endpoint.emulator
      .allJobs()
      .map((j) => j.jobId)
      .filter((id) => !warmBefore.has(id));
    const loc = { bucket, prefix: 'flows/', endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' };
    const store = new S3Store(loc, new S3Client({ ...s3ClientConfig(loc), credentials: { accessKeyId: S3_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: S3_ENV.AWS_SECRET_ACCESS_KEY } }));
    const cold = await bootstrapFigures(store, 'run-4', endpoint.emulator.cpuMs, coldJobs);
    const warm = await bootstrapFigures(store, 'run-5', endpoint.emulator.cpuMs, warmJobs);
    store.client.destroy();
    const tasks = 203;
    const bytes = (f: typeof cold) =>
      Object.entries(f.bytes)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${kb(v)}`)
        .join(', ');
    const totalBytes = (f: typeof cold) => kb(Object.values(f.bytes).reduce((a, b) => a + b, 0));
    return [
      {
        title: 'AWS Batch backend (local Batch endpoint + S3 test server)',
        command:
          "1,000-task step: BatchBackend against tools/batch-endpoint (16 slots, ~50 ms jobs); 200-split: `flow run` whole process (GNU time), trivial foreach, 4 slots vs --max-workers 4; jobs run in bubblewrap with the production job command (loader + bundle from S3); job CPU: GNU time over each job's process tree; cold: a fresh container (the loader downloads the bundle), warm: an image holding the bundle (20-split run)",
        rows: [
          { name: 'SubmitJob calls, 1,000-split foreach', value: String(calls.SubmitJob ?? 0), note: 'one array job; Metaflow submits one job per task: 1,000' },
          { name: 'DescribeJobs calls, 1,000-split foreach', value: String(calls.DescribeJobs ?? 0), note: 'one id (the array parent) per call' },
          { name: 'ListJobs calls, 1,000-split foreach', value: String(calls.ListJobs ?? 0), note: 'finished children, only when the summary changed' },
          { name: 'all Batch API calls, 1,000-split foreach', value: String(total), note: JSON.stringify(calls) },
          { name: 'wall time, 200-split trivial foreach, local backend', value: ms(local.wall) },
          { name: 'wall time, 200-split trivial foreach, --with batch (local endpoint)', value: ms(onBatch.wall), note: `${(onBatch.wall / local.wall).toFixed(1)}× local: each task is a fresh container (bubblewrap) that fetches the bundle, the code package, the compiled flow and its inputs from S3` },
          { name: 'orchestrator CPU per task, --with batch', value: ms(onBatch.cpu / tasks), note: `local backend: ${ms(local.cpu / tasks)} (the local figure includes the tasks' own work in workers)` },
          { name: 'Batch API calls of the 200-split run (all steps)', value: String(Object.values(runCalls).reduce((a, b) => a + b, 0)), note: JSON.stringify(runCalls) },
          { name: 'job CPU per task, cold (median)', value: ms(cold.jobCpu), note: `${cold.n} tasks; node start + loader + bootstrap + worker + the (trivial) task; was ~1 s with npx/compile per task` },
          { name: 'loader CPU per task, cold / warm (median)', value: `${ms(cold.loader)} / ${ms(warm.loader)}`, note: 'node start to the bundle written out: credentials, GET, gunzip, sha256' },
          { name: 'bootstrap CPU per task until the task starts, cold / warm (median)', value: `${ms(cold.setup)} / ${ms(warm.setup)}`, note: "the job's main process: loader, bundle import (AWS SDK), payload, code package, inputs" },
          { name: 'bootstrap CPU by phase, cold / warm (median ms)', value: '', note: `cold ${JSON.stringify(cold.phases)}; warm ${JSON.stringify(warm.phases)}` },
          { name: 'job CPU per task, warm (median)', value: ms(warm.jobCpu), note: `${warm.n} tasks` },
          { name: 'bytes downloaded per task, cold', value: totalBytes(cold), note: bytes(cold) },
          { name: 'bytes downloaded per task, warm', value: totalBytes(warm), note: bytes(warm) },
        ],
      },
    ];
  } finally {
    await endpoint.close();
    await s3.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
}
