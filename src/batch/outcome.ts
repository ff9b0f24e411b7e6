import type { BatchConfig } from '../config/config.js';
import { ExitCode, type FlowErrorJson } from '../errors/index.js';
import type { TaskOutcome } from '../runtime/pool.js';
import { type AttemptLogs, NO_LOGS } from '../runtime/task-logs.js';
import type { RemoteAttempt } from '../metadata/records.js';
import type { Store } from '../store/types.js';
import type { TaskJob } from '../task/protocol.js';
import { batchError } from './api.js';
import type { JobError, LogStreamRef } from './logs.js';
import type { ObjectBridge } from './objects.js';
import { type BatchTaskResult, type JobEnd, jobEndError, resultPath } from './payload.js';

export interface OutcomeContext {
  run: string;
  remote: Store;
  bridge: ObjectBridge;
  config: BatchConfig | undefined;
  memoryOf: (step: string) => number;
  imageOf: (step: string) => string;
  logGroupOf: (step: string) => string;
  /** The job's own account of a failure, from its log stream (undefined when there is none). */
  jobError: (ref: LogStreamRef) => Promise<JobError | undefined>;
}

/**
 * How a finished Batch attempt turns out for the scheduler: the task's own result record when it
 * wrote one (its artifacts and logs copied back); else why the job stopped, in the job's own words
 * (the `flowrun-error:` line its loader printed: an image without Node, a bundle missing or
 * corrupt, a role without S3 access) or from what Batch reports (exit code, reason).
 */
export async function jobOutcome(c: OutcomeContext, job: TaskJob, end: JobEnd, aborted: 'timeout' | 'interrupt' | undefined): Promise<TaskOutcome> {
  const logStream = end.logStream ? { group: c.logGroupOf(job.step), stream: end.logStream } : undefined;
  const remote = (uploaded: boolean): RemoteAttempt => ({
    backend: 'batch',
    jobId: end.batchJobId,
    uploaded,
    ...(end.batchAttempts && end.batchAttempts > 1 ? { batchAttempts: end.batchAttempts } : {}),
    ...(logStream ? { logGroup: logStream.group, logStream: logStream.stream, region: c.config?.region ?? process.env.AWS_REGION ?? 'us-east-1' } : {}),
  });
  try {
    const rec = await c.remote.readRecord<BatchTaskResult>(resultPath(c.run, job.step, job.taskId, job.attempt));
    if (rec) {
      const logs = rec.logs ? [rec.logs.stdout, rec.logs.stderr] : [];
      await c.bridge.download(rec.result.ok ? Object.values(rec.result.artifacts) : [], logs);
      const result = rec.result.ok ? rec.result : { ok: false as const, error: { ...rec.result.error, data: { ...rec.result.error.data, batchJobId: end.batchJobId, arrayIndex: end.arrayIndex, exitCode: end.exitCode } } };
      return { result, logs: uploadedLogs(rec), remote: remote(true) };
    }
    if (aborted) return { result: { ok: false, error: abortedError(job, aborted) }, logs: NO_LOGS, remote: remote(false) };
    const own = logStream && end.status === 'FAILED' ? await c.jobError(logStream).catch(() => undefined) : undefined;
    const error = own ? jobOwnError(job, end, own) : jobEndError(job, end, c.memoryOf(job.step), c.imageOf(job.step));
    return { result: { ok: false, error }, logs: NO_LOGS, remote: remote(false) };
  } catch (e) {
    return { result: { ok: false, error: { ...batchError(e, `Reading the result of task ${job.step}/${job.taskId}`, c.config).toJSON(), step: job.step } }, logs: NO_LOGS, remote: remote(false) };
  }
}

/** A task's uploaded output: small output travels inline in the result, larger as objects already copied here. */
function uploadedLogs(rec: BatchTaskResult): AttemptLogs {
  if (rec.inline) return { stdout: { text: String(rec.inline.stdout ?? '') }, stderr: { text: String(rec.inline.stderr ?? '') } };
  if (rec.logs) return { stdout: { object: rec.logs.stdout }, stderr: { object: rec.logs.stderr } };
  return NO_LOGS;
}

function jobOwnError(job: TaskJob, end: JobEnd, own: JobError): FlowErrorJson {
  const where = `Task ${job.step}/${job.taskId} (Batch job ${end.batchJobId}${end.arrayIndex !== undefined ? `, array index ${end.arrayIndex}` : ''})`;
  return {
    code: own.code,
    step: job.step,
    exitCode: own.exitCode === ExitCode.storeIntegrity ? ExitCode.storeIntegrity : ExitCode.remote,
    message: `${where} could not run: ${own.message}`,
    ...(own.fix ? { fix: own.fix } : {}),
    data: { batchJobId: end.batchJobId, arrayIndex: end.arrayIndex, exitCode: end.exitCode, logStream: end.logStream, infrastructure: true },
  };
}

function abortedError(job: TaskJob, aborted: 'timeout' | 'interrupt'): FlowErrorJson {
  if (aborted === 'timeout') return { code: 'TASK_TIMEOUT', step: job.step, exitCode: ExitCode.runFailed, message: `Task ${job.step}/${job.taskId} ran past its @timeout; its Batch job was terminated.`, fix: 'Raise @timeout or make the step faster.' };
  return { code: 'TASK_INTERRUPTED', step: job.step, exitCode: ExitCode.runFailed, message: `Task ${job.step}/${job.taskId} was stopped because the run was interrupted.` };
}
