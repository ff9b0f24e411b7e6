import { type Job, JOB_STATUSES, type JobStatus } from './types.js';

export const TERMINAL: ReadonlySet<JobStatus> = new Set(['SUCCEEDED', 'FAILED']);

export function countStatuses(statuses: JobStatus[]): Partial<Record<JobStatus, number>> {
  const counts: Partial<Record<JobStatus, number>> = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}

/** An array parent's status, from its children's: done when all are, RUNNING once any started. */
export function parentStatus(c: Partial<Record<JobStatus, number>>, size: number): JobStatus {
  const ok = c.SUCCEEDED ?? 0;
  const done = ok + (c.FAILED ?? 0);
  if (ok === size) return 'SUCCEEDED';
  if (done === size) return 'FAILED';
  if ((c.RUNNING ?? 0) + (c.STARTING ?? 0) > 0 || done > 0) return 'RUNNING';
  if ((c.RUNNABLE ?? 0) > 0) return 'RUNNABLE';
  return (c.PENDING ?? 0) > 0 ? 'PENDING' : 'SUBMITTED';
}

export type JobDetailShape = ReturnType<typeof jobDetail>;

/** A job as DescribeJobs returns it; `counts` is given for array parents. */
export function jobDetail(j: Job, status: JobStatus, counts?: Partial<Record<JobStatus, number>>) {
  let arrayProperties: Record<string, unknown> | undefined;
  if (j.array && 'size' in j.array) arrayProperties = { size: j.array.size, statusSummary: Object.fromEntries(JOB_STATUSES.map((s) => [s, counts?.[s] ?? 0])) };
  else if (j.array) arrayProperties = { index: j.array.index };
  const parentDone = j.array && 'size' in j.array && TERMINAL.has(status);
  return {
    jobArn: j.jobArn,
    jobName: j.jobName,
    jobId: j.jobId,
    jobQueue: j.jobQueue,
    status,
    statusReason: parentDone ? (status === 'SUCCEEDED' ? 'All child jobs succeeded' : (j.statusReason ?? 'One or more child jobs failed')) : j.statusReason,
    createdAt: j.createdAt,
    startedAt: j.startedAt,
    stoppedAt: parentDone ? (j.stoppedAt ?? Date.now()) : j.stoppedAt,
    jobDefinition: j.jobDefinition,
    parameters: j.parameters,
    tags: j.tags,
    dependsOn: j.dependsOn,
    attempts: j.attempts,
    retryStrategy: { attempts: j.maxAttempts },
    ...(j.attemptDurationSeconds ? { timeout: { attemptDurationSeconds: j.attemptDurationSeconds } } : {}),
    container: {
      image: j.container.image,
      command: j.container.command,
      environment: j.container.environment,
      resourceRequirements: j.container.resourceRequirements,
      jobRoleArn: j.container.jobRoleArn,
      exitCode: j.container.exitCode,
      reason: j.container.reason,
      logStreamName: j.container.logStreamName,
    },
    ...(arrayProperties ? { arrayProperties } : {}),
  };
}
