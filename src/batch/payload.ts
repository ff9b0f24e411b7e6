import type { FlowErrorJson } from '../errors/index.js';
import { ExitCode } from '../errors/index.js';
import type { TaskJob, TaskResult } from '../task/protocol.js';

/**
 * What a Batch job runs, stored as one object in the S3 store and named by its hash in the job's
 * environment (FLOW_TASK_PAYLOAD): the code package to fetch and, per array index, the task.
 * The job's command line and environment stay small whatever the number of splits.
 */
export interface TaskPayload {
  v: 1;
  run: string;
  code: { hash: string; file: string; cwd: string; lock: { name: string; hash: string } | null };
  tasks: TaskJob[];
}

/** Written by the task (last, after its objects) to `batch/<run>/<step>/<task>.<attempt>.json`. */
export interface BatchTaskResult {
  v: 1;
  result: TaskResult;
  logs: { stdout: string; stderr: string };
  batchJobId: string;
}

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
}

/** The error of a job that ended without a result record (killed, out of memory, never started...). */
export function jobEndError(job: TaskJob, end: JobEnd, memoryMiB: number): FlowErrorJson {
  const where = `Task ${job.step}/${job.taskId} (Batch job ${end.batchJobId}${end.arrayIndex !== undefined ? `, array index ${end.arrayIndex}` : ''})`;
  const data = { batchJobId: end.batchJobId, arrayIndex: end.arrayIndex, exitCode: end.exitCode, statusReason: end.statusReason, reason: end.reason };
  const base = { step: job.step, exitCode: ExitCode.runFailed, data } as const;
  if (end.exitCode === 137 || /OutOfMemory/i.test(end.reason ?? '')) {
    return { ...base, code: 'TASK_OOM', message: `${where} ran out of memory: it was killed (exit 137) with ${memoryMiB} MiB requested.`, fix: 'Raise the memory with @resources({ memory }) or @batch({ memory }) (MiB), or use less memory in the step.' };
  }
  if (/exceeded timeout/i.test(end.statusReason ?? '')) {
    return { ...base, code: 'TASK_TIMEOUT', message: `${where} ran past its @timeout and Batch stopped it.`, fix: 'Raise @timeout or make the step faster.' };
  }
  const exit = end.exitCode !== undefined ? `exit code ${end.exitCode}` : 'no exit code';
  return {
    ...base, code: 'BATCH_JOB_FAILED',
    message: `${where} ${end.status === 'SUCCEEDED' ? 'succeeded but wrote no result' : 'failed'}: ${exit}${end.statusReason ? `, "${end.statusReason}"` : ''}${end.reason ? ` (${end.reason})` : ''}.`,
    fix: 'See the job in the AWS Batch console (its CloudWatch log stream) for why the container stopped before the task ran.',
  };
}
