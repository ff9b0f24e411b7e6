import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, FlowError } from '../errors/index.js';
import { compileFlow } from '../loader/compile.js';
import { extractCodePackage } from '../package/code-package.js';
import { linkModules, lockedDependencies } from '../env/project-lock.js';
import { WorkerPool } from '../runtime/pool.js';
import { storeAttemptLogs } from '../runtime/task-logs.js';
import { LocalStore } from '../store/local.js';
import { S3Store } from '../store/s3.js';
import { parseS3Url } from '../store/s3-location.js';
import { SHA256_HEX } from '../util/hash.js';
import type { TaskResult } from '../task/protocol.js';
import { inputObjects, inputRefs } from './backend.js';
import { artifactObjects, mapLimit } from './objects.js';
import { type BatchTaskResult, resultPath, type TaskPayload } from './payload.js';

/**
 * `flow task-bootstrap`: what a Batch container does, in order.
 *   1. Open the S3 store named by FLOW_STORE_URL (credentials: the job role, via the SDK's chain).
 *   2. Read the payload object FLOW_TASK_PAYLOAD and pick this job's task (AWS_BATCH_JOB_ARRAY_INDEX).
 *   3. Fetch the run's code package (content-addressed) and extract it into a fresh directory.
 *   4. Install the step's environment from the recorded lock (npm ci once per lock hash, cached).
 *   5. Compile the flow and fetch the artifacts the task may read into a scratch store.
 *   6. Run the task in a worker (as locally: seeded Math.random, @environment), teeing its output.
 *   7. Upload the objects it wrote and its stdout/stderr, then the result record, last.
 * Exits 0 when the task succeeded, 1 when it failed (the result record says why either way).
 */
export async function taskBootstrap(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const store = await S3Store.open({
    ...parseS3Url(required(env, 'FLOW_STORE_URL'), 'FLOW_STORE_URL'),
    ...(env.FLOW_S3_ENDPOINT ? { endpoint: env.FLOW_S3_ENDPOINT } : {}),
    ...(env.FLOW_S3_REGION ? { region: env.FLOW_S3_REGION } : {}),
    ...(env.FLOW_S3_FORCE_PATH_STYLE ? { forcePathStyle: env.FLOW_S3_FORCE_PATH_STYLE === 'true' } : {}),
  });
  const payloadHash = required(env, 'FLOW_TASK_PAYLOAD');
  if (!SHA256_HEX.test(payloadHash)) throw new FlowError('BATCH_BAD_PAYLOAD', `FLOW_TASK_PAYLOAD=${payloadHash} is not an object id.`, { exitCode: ExitCode.usage });
  const payload = JSON.parse((await store.getObject(payloadHash)).toString('utf8')) as TaskPayload;
  const index = Number(env.AWS_BATCH_JOB_ARRAY_INDEX ?? 0);
  const job = payload.tasks[index];
  if (!job) throw new FlowError('BATCH_BAD_PAYLOAD', `Payload ${payloadHash} has no task at index ${index}.`, { exitCode: ExitCode.usage });
  const log = (line: string) => process.stderr.write(`flowrun bootstrap: ${line}\n`);
  log(`${payload.run}/${job.step}/${job.taskId} attempt ${job.attempt + 1} (Batch job ${env.AWS_BATCH_JOB_ID ?? '?'})`);

  const work = mkdtempSync(join(env.FLOW_WORK_DIR ?? tmpdir(), 'flowrun-task-'));
  try {
    const codeDir = join(work, 'code');
    extractCodePackage(await store.getObject(payload.code.hash), codeDir);
    const cwd = join(codeDir, payload.code.cwd);
    mkdirSync(cwd, { recursive: true });
    if (payload.code.lock?.name === 'package-lock.json') linkModules(await lockedDependencies(codeDir, payload.code.lock.hash, log), codeDir);
    const compiled = await compileFlow(join(codeDir, payload.code.file), codeDir);

    const scratch = LocalStore.open(join(work, 'store'));
    const fetched = new Set<string>();
    for (const hash of inputObjects(job)) { scratch.putObjectSync(await store.getObject(hash)); fetched.add(hash); }
    for (const ref of inputRefs(job)) {
      if (fetched.has(ref.hash)) continue;
      for (const [hash, bytes] of await artifactObjects(ref, (h) => store.getObject(h))) { scratch.putObjectSync(bytes); fetched.add(hash); }
    }

    const pool = new WorkerPool({ size: 1, cwd, spoolDir: join(work, 'spool'), onOutput: (_job, stream, text) => write(stream === 'stdout' ? process.stdout : process.stderr, text) });
    let outcome;
    let logRefs;
    try {
      outcome = await pool.run({ ...job, modulePath: compiled.modulePath, storeRoot: scratch.root });
      // Into the scratch store first (streamed from the spool files), uploaded with the task's other objects.
      logRefs = await storeAttemptLogs(scratch, outcome.logs);
    } finally {
      pool.close();
    }
    const produced = listObjects(scratch.root).filter((h) => !fetched.has(h));
    await mapLimit(produced, 8, async (h) => { await store.putObject(scratch.getObjectSync(h)); });
    const result: TaskResult = outcome.result;
    const logs = logRefs;
    // A failure keeps its stack: the orchestrator appends it to the stderr log, as for a local task.
    const record: BatchTaskResult = { v: 1, result, logs, batchJobId: env.AWS_BATCH_JOB_ID ?? '' };
    await store.writeRecord(resultPath(payload.run, job.step, job.taskId, job.attempt), record);
    log(`${result.ok ? 'done' : `failed: ${result.error.code}: ${result.error.message}`}`);
    return result.ok ? 0 : 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Writes to the container's own output, waiting when it is slow (a task's output is not held in memory). */
function write(out: NodeJS.WriteStream, text: string): Promise<void> | void {
  if (!out.write(text)) return new Promise((resolve) => out.once('drain', () => resolve()));
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v) throw new FlowError('BATCH_BOOTSTRAP_ENV', `${name} is not set: flow task-bootstrap runs inside an AWS Batch job submitted by flowrun.`, { exitCode: ExitCode.usage, fix: 'Run flows with flow run FILE --with batch; this command is internal.' });
  return v;
}

function listObjects(root: string): string[] {
  const dir = join(root, 'objects');
  let shards: string[];
  try { shards = readdirSync(dir); } catch { return []; }
  return shards.flatMap((s) => readdirSync(join(dir, s)).filter((n) => SHA256_HEX.test(n)));
}
