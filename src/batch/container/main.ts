import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, type FlowError, FlowError as FlowErrorClass, isFlowError } from '../../errors/index.js';
import { extractCodePackage } from '../../package/code-package.js';
import { WorkerPool } from '../../runtime/pool.js';
import type { AttemptLogs, LogSource } from '../../runtime/task-logs.js';
import { openLocalStore } from '../../store/open.js';
import type { DiskStore } from '../../store/types.js';
import { S3Store } from '../../store/s3.js';
import { parseS3Url } from '../../store/s3-location.js';
import { SHA256_HEX } from '../../store/types.js';
import type { TaskJob, TaskResult } from '../../task/protocol.js';
import { inputObjects, inputRefs } from '../inputs.js';
import { artifactObjects } from '../objects.js';
import { mapLimit } from '../../util/map-limit.js';
import { type BatchTaskResult, type BootstrapStats, INLINE_LOG_BYTES, resultPath, type TaskPayload } from '../payload.js';
import type { InstalledEnvironments } from './environments.js';
import { LiveLog } from './live-log.js';

/** What the loader hands over: where the bundle was written and what the loader measured. */
export interface ContainerStart {
  bundleDir: string;
  loader: { cpuMs: number; bundleBytes: number; bundleFromCache: boolean };
}

/**
 * A Batch job's task, run from the bundle the loader fetched (no package registry, no flowrun
 * install in the image):
 *   1. open the S3 store named by FLOW_STORE_URL (credentials: the job role, the SDK's chain);
 *   2. read the payload FLOW_TASK_PAYLOAD and pick this job's task (AWS_BATCH_JOB_ARRAY_INDEX);
 *   3. extract the code package, place the compiled flow beside it (its `flowrun` is the bundle),
 *      install the environments from the store (project dependencies, @npm, conda);
 *   4. fetch the artifacts the task may read into a scratch store;
 *   5. run the task in a worker (heap from the job's memory), teeing its output to the job's log
 *      and uploading it to the store every few seconds;
 *   6. upload what it wrote and its output, then the result record, last.
 * Exits 0 when the task succeeded, 1 when it failed (the result record says why either way); an
 * infrastructure failure prints a `flowrun-error:` line and exits with its code (2, 3, 4).
 */
export async function runContainerTask(start: ContainerStart, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    return await runTask(start, env);
  } catch (e) {
    const err: FlowError = isFlowError(e) ? e : new FlowErrorClass('BATCH_BOOTSTRAP_FAILED', `The job failed before its task ran: ${(e as Error)?.stack ?? String(e)}`, { exitCode: ExitCode.remote });
    const json = { code: err.code, message: err.message, fix: err.fix ?? '', exitCode: err.exitCode };
    process.stderr.write(`flowrun bootstrap: ${err.code}: ${err.message}${err.fix ? `\n  fix: ${err.fix}` : ''}\nflowrun-error: ${JSON.stringify(json)}\n`);
    return err.exitCode;
  }
}

async function runTask(start: ContainerStart, env: NodeJS.ProcessEnv): Promise<number> {
  const bytes: Record<string, number> = { bundle: start.loader.bundleBytes };
  const phases: Record<string, number> = { loader: start.loader.cpuMs };
  let last = start.loader.cpuMs;
  const phase = (name: string) => {
    const u = process.cpuUsage();
    const now = (u.user + u.system) / 1000;
    phases[name] = Math.round(now - last);
    last = now;
  };
  phase('import');
  const store = new S3Store({
    ...parseS3Url(required(env, 'FLOW_STORE_URL'), 'FLOW_STORE_URL'),
    ...(env.FLOW_S3_ENDPOINT ? { endpoint: env.FLOW_S3_ENDPOINT } : {}),
    region: env.FLOW_S3_REGION ?? env.AWS_REGION ?? 'us-east-1',
    ...(env.FLOW_S3_FORCE_PATH_STYLE ? { forcePathStyle: env.FLOW_S3_FORCE_PATH_STYLE === 'true' } : {}),
  });
  const get = async (what: string, hash: string) => {
    const b = await store.getObject(hash);
    bytes[what] = (bytes[what] ?? 0) + b.byteLength;
    return b;
  };
  const payloadHash = required(env, 'FLOW_TASK_PAYLOAD');
  if (!SHA256_HEX.test(payloadHash)) throw new FlowErrorClass('BATCH_BAD_PAYLOAD', `FLOW_TASK_PAYLOAD=${payloadHash} is not an object id.`, { exitCode: ExitCode.usage });
  const payload = JSON.parse((await get('payload', payloadHash)).toString('utf8')) as TaskPayload;
  phase('payload');
  if (payload.v !== 2) throw new FlowErrorClass('BATCH_BAD_PAYLOAD', `Payload ${payloadHash} has version ${String(payload.v)}; this bundle reads version 2.`, { exitCode: ExitCode.usage, fix: 'Run the flow again with one flowrun version.' });
  const index = Number(env.AWS_BATCH_JOB_ARRAY_INDEX ?? 0);
  const job = payload.tasks[index];
  if (!job) throw new FlowErrorClass('BATCH_BAD_PAYLOAD', `Payload ${payloadHash} has no task at index ${index}.`, { exitCode: ExitCode.usage });
  const log = (line: string) => process.stderr.write(`flowrun bootstrap: ${line}\n`);
  log(`${payload.run}/${job.step}/${job.taskId} attempt ${job.attempt + 1} (Batch job ${env.AWS_BATCH_JOB_ID ?? '?'})`);

  const work = mkdtempSync(join(env.FLOW_WORK_DIR ?? tmpdir(), 'flowrun-task-'));
  try {
    const codeDir = join(work, 'code');
    const [code, module] = await Promise.all([get('code', payload.code.hash), get('module', payload.module)]);
    extractCodePackage(code, codeDir);
    const cwd = join(codeDir, payload.code.cwd);
    mkdirSync(cwd, { recursive: true });
    const modulePath = placeModule(codeDir, payload.module, module, start.bundleDir);
    phase('code');
    // Loaded only for a step with environments (tar, the conda installer): the rest start faster.
    const installed: InstalledEnvironments = payload.project || payload.npm || payload.conda ? await (await import('./environments.js')).installEnvironments(payload, { store, codeDir, work, get, log }) : { vars: {} };
    phase('environments');

    const scratch = openLocalStore(join(work, 'store'));
    const fetched = await fetchInputs(job, scratch, (h) => get('inputs', h));
    phase('inputs');
    const bootstrap: BootstrapStats = { loaderCpuMs: start.loader.cpuMs, setupCpuMs: last, phases, bytes, bundleFromCache: start.loader.bundleFromCache };
    log(
      `ready in ${Math.round(last)} ms CPU (${Object.entries(phases)
        .map(([k, v]) => `${k} ${Math.round(v)}`)
        .join(', ')})`,
    );

    const live = new LiveLog(store, payload, job, env.AWS_BATCH_JOB_ID ?? '');
    const pool = new WorkerPool({
      size: 1,
      cwd,
      moduleHooks: installed.npm !== undefined,
      spoolDir: join(work, 'spool'),
      onOutput: (_job, stream, text) => {
        (stream === 'stdout' ? process.stdout : process.stderr).write(text);
        live.append(stream, text);
      },
    });
    let outcome;
    let output;
    try {
      const run: TaskJob = { ...job, modulePath, storeRoot: scratch.root, env: { ...installed.vars, ...job.env }, ...(installed.npm ? { npm: installed.npm } : {}) };
      outcome = await pool.run(run, payload.heapMB);
      // Before the pool closes: closing removes its spool folder, which holds the task's output.
      output = await taskOutput(outcome.logs, store);
    } finally {
      pool.close();
      await live.stop();
    }
    const produced = listObjects(scratch.root).filter((h) => !fetched.has(h));
    await mapLimit(produced, 8, async (h) => {
      await store.putObject(scratch.getObjectSync(h));
    });
    const result: TaskResult = outcome.result;
    const record: BatchTaskResult = { v: 2, result, ...output, batchJobId: env.AWS_BATCH_JOB_ID ?? '', bootstrap };
    await store.writeRecord(resultPath(payload.run, job.step, job.taskId, job.attempt), record);
    log(`${result.ok ? 'done' : `failed: ${result.error.code}: ${result.error.message}`}`);
    return result.ok ? 0 : 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The task's stdout and stderr for its result record: inline when small (two PUTs fewer), else
 * streamed from the worker's spool files into objects of the S3 store.
 */
async function taskOutput(logs: AttemptLogs, store: S3Store): Promise<Pick<BatchTaskResult, 'inline' | 'logs'>> {
  const size = (s: LogSource) => ('text' in s ? Buffer.byteLength(s.text) : 'file' in s ? fileSize(s.file) : Infinity);
  const text = (s: LogSource) => ('text' in s ? s.text : 'file' in s ? readFileOr(s.file) : '');
  if (size(logs.stdout) + size(logs.stderr) <= INLINE_LOG_BYTES) return { inline: { stdout: text(logs.stdout), stderr: text(logs.stderr) } };
  // From memory: the S3 store takes whole objects (a log of hundreds of MiB is worth a streamed upload: PROGRESS).
  const put = async (s: LogSource) => ('file' in s ? store.putObject(readFileSync(s.file)) : 'text' in s ? store.putObject(Buffer.from(s.text)) : s.object);
  return { logs: { stdout: await put(logs.stdout), stderr: await put(logs.stderr) } };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function readFileOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Writes the compiled flow into `<code>/.flowrun/`, whose node_modules/flowrun is the bundle: the
 * flow's `import 'flowrun'` finds this exact flowrun before any copy the project's dependencies
 * hold, and its other imports resolve from the project's node_modules as on the orchestrator.
 */
function placeModule(codeDir: string, hash: string, module: Buffer, bundleDir: string): string {
  const dir = join(codeDir, '.flowrun');
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(bundleDir, join(dir, 'node_modules', 'flowrun'), 'dir');
  const path = join(dir, `flow-${hash.slice(0, 16)}.mjs`);
  writeFileSync(path, module);
  return path;
}

/** Every object the task may read, fetched 8 at a time into the scratch store; returns their ids. */
async function fetchInputs(job: TaskJob, scratch: DiskStore, get: (h: string) => Promise<Buffer>): Promise<Set<string>> {
  const fetched = new Set<string>();
  await mapLimit(inputObjects(job), 8, async (hash) => {
    scratch.putObjectSync(await get(hash));
    fetched.add(hash);
  });
  const refs = [...new Map(inputRefs(job).map((r) => [r.hash, r])).values()].filter((r) => !fetched.has(r.hash));
  await mapLimit(refs, 8, async (ref) => {
    for (const [hash, bytes] of await artifactObjects(ref, get)) {
      scratch.putObjectSync(bytes);
      fetched.add(hash);
    }
  });
  return fetched;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v) throw new FlowErrorClass('BATCH_BOOTSTRAP_ENV', `${name} is not set: this runs inside an AWS Batch job submitted by flowrun.`, { exitCode: ExitCode.usage, fix: 'Run flows with flow run FILE --with batch.' });
  return v;
}

function listObjects(root: string): string[] {
  const dir = join(root, 'objects');
  let shards: string[];
  try {
    shards = readdirSync(dir);
  } catch {
    return [];
  }
  return shards.flatMap((s) => readdirSync(join(dir, s)).filter((n) => SHA256_HEX.test(n)));
}
