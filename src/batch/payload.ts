import type { FlowErrorJson } from '../errors/index.js';
import { ExitCode } from '../errors/index.js';
import type { TaskJob, TaskResult } from '../task/protocol.js';

/**
 * What a Batch job runs, stored as one object in the S3 store and named by its hash in the job's
 * environment (FLOW_TASK_PAYLOAD): the code package, the flow compiled on the orchestrator, the
 * environments to install and, per array index, the task. Only object ids and plain settings:
 * nothing of the orchestrator's machine (paths, PATH, caches) travels, so the job's command line
 * and environment stay small and identical wherever the job runs.
 */
export interface TaskPayload {
  v: 2;
  run: string;
  code: { hash: string; file: string; cwd: string };
  /** The flow compiled once on the orchestrator; it imports `flowrun` by name (the bundle's copy). */
  module: string;
  /** The project's recorded dependencies, installed for the target platform. */
  project?: EnvTarball;
  /** The step's @npm environment, installed for the target platform, and the names it provides. */
  npm?: EnvTarball & { names: string[] };
  /** The step's conda lock (solved for the target), installed in the container from archives in the store. */
  conda?: { lock: string; specs: string[] };
  /** The worker's V8 heap limit, from the job's memory. */
  heapMB: number;
  /** Seconds between uploads of a running task's output (0: only at the end). */
  logEveryS: number;
  /** The tasks, one per array index; modulePath, storeRoot and npm are set in the container. */
  tasks: TaskJob[];
}

/** A node_modules tree installed for a platform and stored as a tar object: keyed by lock hash + platform. */
export interface EnvTarball {
  /** Object id of the lock it was installed from. */
  lock: string;
  /** `linux-x64`. */
  platform: string;
  /** Object id of the tar of node_modules/. */
  tarball: string;
}

/** What the job measured about its own start (loader and bootstrap), for BENCHMARKS.md and debugging. */
export interface BootstrapStats {
  /** CPU of the loader (node start, credentials, bundle fetch and check). */
  loaderCpuMs: number;
  /** CPU of the whole process until the task was handed to the worker. */
  setupCpuMs: number;
  /** That CPU by phase: loader, import (the bundle), payload, code, environments, inputs. */
  phases?: Record<string, number>;
  /** Bytes fetched from the store, by what. */
  bytes: Record<string, number>;
  bundleFromCache: boolean;
}

/** Written by the task (last, after its objects) to `batch/<run>/<step>/<task>.<attempt>.json`. */
export interface BatchTaskResult {
  v: 1 | 2;
  result: TaskResult;
  /** The output as objects; small output travels inline instead (one GET fewer per log for the orchestrator). */
  logs?: { stdout: string; stderr: string };
  inline?: { stdout: string; stderr: string };
  batchJobId: string;
  bootstrap?: BootstrapStats;
}

/** Output up to this many bytes (stdout + stderr) is written into the result record itself. */
export const INLINE_LOG_BYTES = 16 * 1024;

export const resultPath = (run: string, step: string, taskId: string, attempt: number) => `batch/${run}/${step}/${taskId}.${attempt}.json`;

/** How a Batch job ended, from DescribeJobs or ListJobs. */
export interface JobEnd {
  batchJobId: string;
  status: string;
  statusReason?: string;
  exitCode?: number;
  /** The container's reason (e.g. "OutOfMemoryError: Container killed due to memory usage"). */
  reason?: string;
  arrayIndex?: number;
  /** The attempt's CloudWatch log stream, when Batch reports one. */
  logStream?: string;
  /** Batch's own attempts of the job (more than 1: it retried a vanished host). */
  batchAttempts?: number;
}

/** The error of a job that ended without a result record (killed, out of memory, never started...). */
export function jobEndError(job: TaskJob, end: JobEnd, memoryMiB: number, image = ''): FlowErrorJson {
  const where = `Task ${job.step}/${job.taskId} (Batch job ${end.batchJobId}${end.arrayIndex !== undefined ? `, array index ${end.arrayIndex}` : ''})`;
  const data = { batchJobId: end.batchJobId, arrayIndex: end.arrayIndex, exitCode: end.exitCode, statusReason: end.statusReason, reason: end.reason, logStream: end.logStream };
  const base = { step: job.step, exitCode: ExitCode.runFailed, data } as const;
  const cannotStart = /CannotStartContainerError/.exec(`${end.reason ?? ''} ${end.statusReason ?? ''}`);
  if (cannotStart && /"?node"?: executable file not found/.test(`${end.reason ?? ''} ${end.statusReason ?? ''}`)) {
    return {
      ...base,
      data: { ...data, infrastructure: true },
      exitCode: ExitCode.remote,
      code: 'BATCH_IMAGE_NODE',
      message: `${where} could not start: the image ${image || '(unknown)'} has no node on its PATH; flowrun tasks need Node >= 20 in the image.`,
      fix: 'Use an image with Node 20 or later (e.g. node:20, or the Dockerfile in templates/aws/), in @batch({ image }) or .flowrc batch.image.',
    };
  }
  if (end.exitCode === 137 || /OutOfMemory/i.test(end.reason ?? '')) {
    return { ...base, code: 'TASK_OOM', message: `${where} ran out of memory: it was killed (exit 137) with ${memoryMiB} MiB requested.`, fix: 'Raise the memory with @resources({ memory }) or @batch({ memory }) (MiB), or use less memory in the step.' };
  }
  if (/exceeded timeout/i.test(end.statusReason ?? '')) {
    return { ...base, code: 'TASK_TIMEOUT', message: `${where} ran past its @timeout and Batch stopped it.`, fix: 'Raise @timeout or make the step faster.' };
  }
  const exit = end.exitCode !== undefined ? `exit code ${end.exitCode}` : 'no exit code';
  return {
    ...base,
    code: 'BATCH_JOB_FAILED',
    message: `${where} ${end.status === 'SUCCEEDED' ? 'succeeded but wrote no result' : 'failed'}: ${exit}${end.statusReason ? `, "${end.statusReason}"` : ''}${end.reason ? ` (${end.reason})` : ''}.`,
    fix: 'See the job in the AWS Batch console (its CloudWatch log stream) for why the container stopped before the task ran.',
  };
}

/** A running task's output so far: chunks (objects) in the order they were written. */
export interface LiveLogRecord {
  v: 1;
  run: string;
  step: string;
  task: string;
  attempt: number;
  batchJobId: string;
  chunks: Array<{ stream: 'stdout' | 'stderr'; hash: string; bytes: number }>;
  /** The task ended: nothing more will be added. */
  done: boolean;
  updated: string;
}

export const liveLogPath = (run: string, step: string, taskId: string, attempt: number) => `batch/${run}/${step}/${taskId}.${attempt}.live.json`;
