import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningProcess, runProcess } from './runner.js';
import { checkDefinition, checkPlatform, type ComputeEnvironmentSpec, computeEnvironmentDetail, type EvaluateOnExit, LOCAL_CE, retryAllowed } from './compute.js';
import { LogStore } from './logs.js';
import type { ImageSpec, VolumeMount } from './sandbox.js';
import { countStatuses, jobDetail, type JobDetailShape, parentStatus, TERMINAL } from './shapes.js';
import type { ContainerProperties, FaultRule, FaultSettings, Job, JobDefinition, JobStatus, KeyValue, ResourceRequirement } from './types.js';

export interface EmulatorOptions {
  /** Jobs that may be STARTING or RUNNING at once (the compute environment's capacity). */
  slots?: number;
  /** Job queues that exist (names). */
  queues?: string[];
  /** Compute environments by name, and which a queue uses (default: one EC2 environment, "local"). */
  computeEnvironments?: ComputeEnvironmentSpec[];
  queueEnvironments?: Record<string, string[]>;
  region?: string;
  accountId?: string;
  /** Minimum time a job stays in each state before the next transition (default 0: one per tick). */
  stepMs?: number;
  /** Credentials a job running as a role receives, by role ARN ('*' for any role). */
  roleCredentials?: Record<string, Record<string, string>>;
  /** Variables every job gets (e.g. an S3 endpoint the "container" should use). */
  baseEnvironment?: Record<string, string>;
  faults?: FaultSettings;
  /** Images that differ from the default (the host's system folders), by name. */
  images?: Record<string, ImageSpec>;
  /** Measure each attempt's CPU (user + system of its whole process tree) with GNU time, for benchmarks. */
  measureCpu?: boolean;
  /** Called with every chunk of job output (for a console that wants to follow jobs). */
  onOutput?: (jobId: string, text: string) => void;
}

/** A Batch API error, sent as REST-JSON with its type (ClientException → 400). */
export class BatchApiError extends Error {
  constructor(
    readonly type: 'ClientException' | 'ServerException' | 'ThrottlingException' | 'ResourceNotFoundException',
    message: string,
    readonly status = type === 'ServerException' ? 500 : type === 'ThrottlingException' ? 429 : 400,
  ) {
    super(message);
  }
}

type Input = Record<string, unknown>;
const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const TICK_MS = 10;
/** Where the awslogs driver puts Batch jobs' output unless the job definition says otherwise. */
export const DEFAULT_LOG_GROUP = '/aws/batch/job';
const HOST_TERMINATED = 'Host EC2 (instance i-0123456789abcdef0) terminated.';

/**
 * The AWS Batch control plane, emulated in memory: job definitions with revisions, queues, and
 * jobs moving SUBMITTED → PENDING → RUNNABLE → STARTING → RUNNING → SUCCEEDED/FAILED, with a
 * fixed number of slots. Each attempt really runs the job's command as a local process.
 */
export class BatchEmulator {
  readonly calls: Record<string, number> = {};
  private readonly definitions = new Map<string, JobDefinition[]>();
  private readonly jobs = new Map<string, Job>();
  private readonly processes = new Map<string, RunningProcess>();
  readonly logs = new LogStore();
  private readonly queues: Set<string>;
  private readonly faultHits = new Map<FaultRule, number>();
  private faults: FaultSettings;
  private timer: NodeJS.Timeout | undefined;
  private readonly region: string;
  private readonly account: string;

  constructor(private readonly o: EmulatorOptions = {}) {
    this.queues = new Set(o.queues ?? ['flow-queue']);
    this.region = o.region ?? 'us-east-1';
    this.account = o.accountId ?? '000000000000';
    this.faults = o.faults ?? { rules: [] };
  }

  count(operation: string): void {
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
  }

  setFaults(f: FaultSettings): void {
    this.faults = { rules: f.rules ?? [], throttleDescribeJobs: f.throttleDescribeJobs };
    this.faultHits.clear();
  }

  addQueue(name: string): void {
    this.queues.add(name);
  }

  // ---- API operations ------------------------------------------------------------------

  registerJobDefinition(i: Input): { jobDefinitionName: string; jobDefinitionArn: string; revision: number } {
    const name = requireString(i, 'jobDefinitionName');
    if (!JOB_NAME.test(name)) throw new BatchApiError('ClientException', `jobDefinitionName ${name} is invalid: up to 128 letters, numbers, hyphens and underscores.`);
    if (i.type !== 'container') throw new BatchApiError('ClientException', `Only type "container" is emulated (got ${String(i.type)}).`);
    checkDefinition({ platformCapabilities: i.platformCapabilities as string[] | undefined, containerProperties: (i.containerProperties ?? {}) as ContainerProperties });
    const revisions = this.definitions.get(name) ?? [];
    const revision = revisions.length + 1;
    const def: JobDefinition = {
      jobDefinitionName: name,
      revision,
      status: 'ACTIVE',
      type: 'container',
      jobDefinitionArn: `arn:aws:batch:${this.region}:${this.account}:job-definition/${name}:${revision}`,
      containerProperties: (i.containerProperties ?? {}) as ContainerProperties,
      platformCapabilities: i.platformCapabilities as string[] | undefined,
      propagateTags: i.propagateTags as boolean | undefined,
      retryStrategy: i.retryStrategy as JobDefinition['retryStrategy'],
      timeout: i.timeout as JobDefinition['timeout'],
      parameters: i.parameters as Record<string, string> | undefined,
      tags: i.tags as Record<string, string> | undefined,
    };
    revisions.push(def);
    this.definitions.set(name, revisions);
    return { jobDefinitionName: name, jobDefinitionArn: def.jobDefinitionArn, revision };
  }

  describeJobDefinitions(i: Input): { jobDefinitions: JobDefinition[] } {
    let defs = [...this.definitions.values()].flat();
    if (typeof i.jobDefinitionName === 'string') defs = defs.filter((d) => d.jobDefinitionName === i.jobDefinitionName);
    if (typeof i.status === 'string') defs = defs.filter((d) => d.status === i.status);
    if (Array.isArray(i.jobDefinitions) && i.jobDefinitions.length > 0) {
      const wanted = new Set(i.jobDefinitions as string[]);
      defs = defs.filter((d) => wanted.has(d.jobDefinitionArn) || wanted.has(`${d.jobDefinitionName}:${d.revision}`) || wanted.has(d.jobDefinitionName));
    }
    return { jobDefinitions: defs };
  }

  describeJobQueues(i: Input): { jobQueues: unknown[] } {
    const wanted = Array.isArray(i.jobQueues) && i.jobQueues.length > 0 ? (i.jobQueues as string[]).map((q) => this.queueName(q)) : [...this.queues];
    return {
      jobQueues: wanted
        .filter((q) => this.queues.has(q))
        .map((q) => ({
          jobQueueName: q,
          jobQueueArn: this.queueArn(q),
          state: 'ENABLED',
          status: 'VALID',
          priority: 1,
          computeEnvironmentOrder: this.environmentsOf(q).map((ce, k) => ({ order: k + 1, computeEnvironment: `arn:aws:batch:${this.region}:${this.account}:compute-environment/${ce.name}` })),
        })),
    };
  }

  describeComputeEnvironments(i: Input): { computeEnvironments: unknown[] } {
    const all = [LOCAL_CE, ...(this.o.computeEnvironments ?? [])];
    const wanted = Array.isArray(i.computeEnvironments) && i.computeEnvironments.length > 0 ? new Set((i.computeEnvironments as string[]).map((c) => c.slice(c.lastIndexOf('/') + 1))) : undefined;
    return { computeEnvironments: all.filter((c) => !wanted || wanted.has(c.name)).map((c) => computeEnvironmentDetail(c, this.region, this.account)) };
  }

  private environmentsOf(queue: string): ComputeEnvironmentSpec[] {
    const names = this.o.queueEnvironments?.[queue];
    if (!names) return [LOCAL_CE];
    return names.map((n) => this.o.computeEnvironments?.find((c) => c.name === n) ?? LOCAL_CE);
  }

  submitJob(i: Input): { jobArn: string; jobName: string; jobId: string } {
    const jobName = requireString(i, 'jobName');
    if (!JOB_NAME.test(jobName)) throw new BatchApiError('ClientException', `jobName ${jobName} is invalid: up to 128 letters, numbers, hyphens and underscores, starting with a letter or number.`);
    const queue = this.queueName(requireString(i, 'jobQueue'));
    if (!this.queues.has(queue)) throw new BatchApiError('ClientException', `JobQueue ${requireString(i, 'jobQueue')} not found.`);
    const def = this.resolveDefinition(requireString(i, 'jobDefinition'));
    checkPlatform(def, queue, this.environmentsOf(queue));
    const size = (i.arrayProperties as { size?: number } | undefined)?.size;
    if (size !== undefined && (!Number.isInteger(size) || size < 2 || size > 10_000)) throw new BatchApiError('ClientException', `arrayProperties.size must be between 2 and 10000 (got ${size}).`);
    const overrides = (i.containerOverrides ?? {}) as ContainerProperties;
    const dependsOn = (i.dependsOn ?? []) as Job['dependsOn'];
    for (const d of dependsOn) if (!this.jobs.has(d.jobId)) throw new BatchApiError('ClientException', `Dependent job ${d.jobId} not found.`);
    const jobId = randomUUID();
    const now = Date.now();
    const retry = (i.retryStrategy ?? def.retryStrategy) as { attempts?: number; evaluateOnExit?: EvaluateOnExit[] } | undefined;
    const timeout = (i.timeout ?? def.timeout) as { attemptDurationSeconds?: number } | undefined;
    const job: Job = {
      jobId,
      jobArn: this.jobArn(jobId),
      jobName,
      jobQueue: this.queueArn(queue),
      jobDefinition: def.jobDefinitionArn,
      status: 'SUBMITTED',
      createdAt: now,
      changedAt: now,
      attempts: [],
      maxAttempts: Math.min(Math.max(retry?.attempts ?? 1, 1), 10),
      evaluateOnExit: retry?.evaluateOnExit,
      attemptDurationSeconds: timeout?.attemptDurationSeconds,
      container: {
        ...def.containerProperties,
        command: overrides.command ?? def.containerProperties.command,
        environment: mergeEnv(def.containerProperties.environment, overrides.environment),
        resourceRequirements: mergeResources(def.containerProperties.resourceRequirements, overrides.resourceRequirements),
      },
      parameters: { ...def.parameters, ...(i.parameters as Record<string, string> | undefined) },
      tags: { ...def.tags, ...(i.tags as Record<string, string> | undefined) },
      dependsOn,
    };
    this.jobs.set(jobId, job);
    if (size !== undefined) {
      job.array = { size };
      for (let index = 0; index < size; index++) {
        const childId = `${jobId}:${index}`;
        this.jobs.set(childId, { ...job, jobId: childId, jobArn: this.jobArn(childId), attempts: [], array: { index, parent: jobId }, container: { ...job.container } });
      }
    }
    this.schedule();
    return { jobArn: job.jobArn, jobName, jobId };
  }

  describeJobs(i: Input): { jobs: unknown[] } {
    if (this.faults.throttleDescribeJobs && this.faults.throttleDescribeJobs > 0) {
      this.faults.throttleDescribeJobs--;
      throw new BatchApiError('ThrottlingException', 'Rate exceeded');
    }
    const ids = i.jobs;
    if (!Array.isArray(ids)) throw new BatchApiError('ClientException', 'jobs is required.');
    if (ids.length > 100) throw new BatchApiError('ClientException', `DescribeJobs takes at most 100 job ids (got ${ids.length}).`);
    return {
      jobs: (ids as string[])
        .map((id) => this.jobs.get(id))
        .filter((j): j is Job => j !== undefined)
        .map((j) => this.detail(j)),
    };
  }

  listJobs(i: Input): { jobSummaryList: unknown[]; nextToken?: string } {
    let list: Job[];
    if (typeof i.arrayJobId === 'string') {
      const parent = this.jobs.get(i.arrayJobId);
      if (!parent?.array || !('size' in parent.array)) throw new BatchApiError('ClientException', `${i.arrayJobId} is not an array job.`);
      list = Array.from({ length: parent.array.size }, (_, k) => this.jobs.get(`${parent.jobId}:${k}`)!);
    } else {
      const queue = typeof i.jobQueue === 'string' ? this.queueName(i.jobQueue) : undefined;
      list = [...this.jobs.values()].filter((j) => !(j.array && 'index' in j.array) && (!queue || j.jobQueue === this.queueArn(queue)));
    }
    const wanted = typeof i.jobStatus === 'string' ? i.jobStatus : undefined;
    if (wanted) list = list.filter((j) => this.statusOf(j) === wanted);
    const start = typeof i.nextToken === 'string' ? Number(i.nextToken) : 0;
    const max = typeof i.maxResults === 'number' ? i.maxResults : 100;
    const page = list.slice(start, start + max);
    return {
      jobSummaryList: page.map((j) => {
        const d = this.detail(j);
        return { jobArn: d.jobArn, jobId: d.jobId, jobName: d.jobName, createdAt: d.createdAt, status: d.status, statusReason: d.statusReason, startedAt: d.startedAt, stoppedAt: d.stoppedAt, container: { exitCode: d.container.exitCode, reason: d.container.reason }, arrayProperties: d.arrayProperties };
      }),
      ...(start + max < list.length ? { nextToken: String(start + max) } : {}),
    };
  }

  terminateJob(i: Input): Record<string, never> {
    const jobId = requireString(i, 'jobId');
    const reason = requireString(i, 'reason');
    const job = this.jobs.get(jobId);
    if (!job) throw new BatchApiError('ClientException', `Job ${jobId} not found.`);
    const targets = job.array && 'size' in job.array ? Array.from({ length: job.array.size }, (_, k) => this.jobs.get(`${jobId}:${k}`)!) : [job];
    for (const t of [...targets, job]) this.terminate(t, reason);
    return {};
  }

  // ---- inspection (tests, the admin API) -----------------------------------------------

  /** Every job (parents, plain jobs and children) in its DescribeJobs shape. */
  allJobs(): JobDetailShape[] {
    return [...this.jobs.values()].map((j) => this.detail(j));
  }

  /** CPU milliseconds of each attempt's process tree, by job id (with measureCpu). */
  readonly cpuMs = new Map<string, number[]>();

  /** Every status a job moved through, in order (a poller may miss the short ones). */
  readonly statusHistory = new Map<string, JobStatus[]>();

  private recordCpu(jobId: string, file: string): void {
    try {
      const [user, sys] = readFileSync(file, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number];
      this.cpuMs.set(jobId, [...(this.cpuMs.get(jobId) ?? []), (user + sys) * 1000]);
    } catch {
      /* the process never started */
    }
    rmSync(file, { force: true });
  }

  log(logStreamName: string): string | undefined {
    return this.logs.text(logStreamName);
  }

  /** Stops every running process (the endpoint is shutting down). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const p of this.processes.values()) p.stop('Endpoint shut down');
    await Promise.all([...this.processes.values()].map((p) => p.done));
  }

  // ---- the state machine ---------------------------------------------------------------

  private schedule(): void {
    this.timer ??= setInterval(() => this.tick(), TICK_MS);
  }

  private tick(): void {
    const now = Date.now();
    let active = 0;
    let busy = [...this.jobs.values()].filter((j) => j.status === 'STARTING' || j.status === 'RUNNING').length;
    for (const job of this.jobs.values()) {
      if (job.array && 'size' in job.array) {
        if (!TERMINAL.has(this.statusOf(job))) active++;
        continue;
      }
      if (TERMINAL.has(job.status)) continue;
      active++;
      if (now - job.changedAt < (this.o.stepMs ?? 0)) continue;
      switch (job.status) {
        case 'SUBMITTED':
          this.move(job, 'PENDING');
          break;
        case 'PENDING':
          this.resolveDependencies(job);
          break;
        case 'RUNNABLE':
          if (busy >= (this.o.slots ?? 2) || this.fault(job, 'stuck', false)) break;
          busy++;
          this.move(job, 'STARTING');
          break;
        case 'STARTING':
          this.start(job);
          break;
        default:
          break; // RUNNING ends when its process does
      }
    }
    if (active === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private resolveDependencies(job: Job): void {
    const deps = job.dependsOn.map((d) => this.jobs.get(d.jobId)!).map((d) => this.statusOf(d));
    if (deps.some((s) => s === 'FAILED')) return this.finish(job, 'FAILED', 'Dependent Job failed');
    if (deps.every((s) => s === 'SUCCEEDED')) this.move(job, 'RUNNABLE');
  }

  private start(job: Job): void {
    const attempt = job.attempts.length + 1;
    const startedAt = Date.now();
    job.startedAt ??= startedAt;
    this.move(job, 'RUNNING');
    const logStreamName = `${job.jobDefinition.split('/').pop()!.replace(':', '-')}/default/${randomUUID()}`;
    job.container.logStreamName = logStreamName;
    if (this.fault(job, 'oom', true)) return this.endAttempt(job, { exitCode: 137, reason: 'OutOfMemoryError: Container killed due to memory usage' }, startedAt, logStreamName);
    if (this.fault(job, 'fail', true)) return this.endAttempt(job, { exitCode: 1, reason: 'Injected failure (fault rule)' }, startedAt, logStreamName);
    const group = job.container.logConfiguration?.options?.['awslogs-group'] ?? DEFAULT_LOG_GROUP;
    this.logs.open(group, logStreamName);
    const image = this.o.images?.[job.container.image ?? ''] ?? {};
    const cpuFile = this.o.measureCpu ? join(tmpdir(), `batch-cpu-${randomUUID()}`) : undefined;
    const proc = runProcess(
      this.command(job),
      this.environment(job, attempt),
      image,
      volumeMounts(job.container),
      (text) => {
        this.logs.append(group, logStreamName, text);
        this.o.onOutput?.(job.jobId, text);
      },
      cpuFile,
    );
    this.processes.set(job.jobId, proc);
    // A Spot reclaim: the instance goes away under the running container.
    if (this.fault(job, 'host-terminated', true)) setTimeout(() => proc.stop(HOST_TERMINATED, true), 300);
    let timer: NodeJS.Timeout | undefined;
    if (job.attemptDurationSeconds) timer = setTimeout(() => proc.stop('Job attempt duration exceeded timeout'), job.attemptDurationSeconds * 1000);
    void proc.done.then((exit) => {
      clearTimeout(timer);
      this.processes.delete(job.jobId);
      if (exit.exitCode === undefined) this.logs.append(group, logStreamName, `${exit.reason}\n`);
      if (cpuFile) this.recordCpu(job.jobId, cpuFile);
      this.logs.close(group, logStreamName);
      this.endAttempt(job, exit, startedAt, logStreamName);
    });
  }

  private endAttempt(job: Job, exit: { exitCode?: number; reason?: string }, startedAt: number, logStreamName: string): void {
    const stoppedAt = Date.now();
    const timedOut = exit.reason === 'Job attempt duration exceeded timeout';
    // Batch reports this same reason for every container exit, success or not; the exit code tells
    // them apart. A container that never started has no exit code, and its error as the reason.
    const statusReason = job.terminated ? job.statusReason : timedOut || exit.exitCode === undefined ? exit.reason : 'Essential container in task exited';
    job.attempts.push({ container: { exitCode: exit.exitCode, reason: exit.reason, logStreamName }, startedAt, stoppedAt, statusReason });
    job.container.exitCode = exit.exitCode;
    job.container.reason = exit.reason;
    if (exit.exitCode === 0 && !job.terminated) return this.finish(job, 'SUCCEEDED', statusReason);
    if (!job.terminated && job.attempts.length < job.maxAttempts && retryAllowed(job.evaluateOnExit, { statusReason, reason: exit.reason, exitCode: exit.exitCode })) return this.move(job, 'RUNNABLE');
    this.finish(job, 'FAILED', statusReason);
  }

  private terminate(job: Job, reason: string): void {
    if (TERMINAL.has(job.status) || job.terminated) return;
    job.terminated = true;
    job.statusReason = reason;
    const proc = this.processes.get(job.jobId);
    if (proc) proc.stop(reason);
    else if (!(job.array && 'size' in job.array)) this.finish(job, 'FAILED', reason);
  }

  private finish(job: Job, status: 'SUCCEEDED' | 'FAILED', reason?: string): void {
    job.stoppedAt = Date.now();
    job.statusReason = reason;
    this.move(job, status);
  }

  private move(job: Job, status: JobStatus): void {
    job.status = status;
    this.statusHistory.set(job.jobId, [...(this.statusHistory.get(job.jobId) ?? ['SUBMITTED']), status]);
    job.changedAt = Date.now();
    this.schedule();
  }

  /** Whether a fault rule of this kind hits the job now; `consume` counts the hit against `times`. */
  private fault(job: Job, effect: FaultRule['effect'], consume: boolean): boolean {
    const index = job.array && 'index' in job.array ? job.array.index : undefined;
    for (const rule of this.faults.rules) {
      if (rule.effect !== effect) continue;
      const m = rule.match ?? {};
      if (m.jobName !== undefined && !new RegExp(m.jobName).test(job.jobName)) continue;
      if (m.arrayIndex !== undefined && m.arrayIndex !== index) continue;
      if (m.attempt !== undefined && m.attempt !== job.attempts.length + 1) continue;
      const hits = this.faultHits.get(rule) ?? 0;
      if (rule.times !== undefined && hits >= rule.times) continue;
      if (consume) this.faultHits.set(rule, hits + 1);
      return true;
    }
    return false;
  }

  private command(job: Job): string[] {
    return (job.container.command ?? []).map((arg) => arg.replace(/Ref::([A-Za-z0-9_]+)/g, (all, name: string) => job.parameters[name] ?? all));
  }

  /** The variables AWS Batch sets in a container, the job's own, and the role's credentials. */
  private environment(job: Job, attempt: number): Record<string, string> {
    const env: Record<string, string> = { AWS_REGION: this.region, AWS_DEFAULT_REGION: this.region, ...this.o.baseEnvironment };
    for (const { name, value } of job.container.environment ?? []) env[name] = value;
    const role = job.container.jobRoleArn;
    const creds = role ? (this.o.roleCredentials?.[role] ?? this.o.roleCredentials?.['*']) : undefined;
    Object.assign(env, creds, {
      AWS_BATCH_JOB_ID: job.jobId,
      AWS_BATCH_JOB_ATTEMPT: String(attempt),
      AWS_BATCH_JQ_NAME: this.queueName(job.jobQueue),
      AWS_BATCH_CE_NAME: 'local',
    });
    if (job.array && 'index' in job.array) env.AWS_BATCH_JOB_ARRAY_INDEX = String(job.array.index);
    return env;
  }

  /** A parent's status follows its children; everything else has its own. */
  private statusOf(job: Job): JobStatus {
    return job.array && 'size' in job.array ? parentStatus(this.summary(job), job.array.size) : job.status;
  }

  private summary(parent: Job): Partial<Record<JobStatus, number>> {
    const size = parent.array && 'size' in parent.array ? parent.array.size : 0;
    return countStatuses(Array.from({ length: size }, (_, k) => this.jobs.get(`${parent.jobId}:${k}`)!.status));
  }

  private detail(j: Job): JobDetailShape {
    return jobDetail(j, this.statusOf(j), j.array && 'size' in j.array ? this.summary(j) : undefined);
  }

  private resolveDefinition(ref: string): JobDefinition {
    const m = /^(?:arn:aws:batch:[^:]*:[^:]*:job-definition\/)?([^:]+)(?::(\d+))?$/.exec(ref);
    const revisions = m ? this.definitions.get(m[1]!) : undefined;
    const def = revisions && (m![2] ? revisions[Number(m![2]) - 1] : revisions.filter((d) => d.status === 'ACTIVE').at(-1));
    if (!def) throw new BatchApiError('ClientException', `Job definition ${ref} not found.`);
    return def;
  }

  private queueName(ref: string): string {
    return ref.startsWith('arn:') ? ref.slice(ref.lastIndexOf('/') + 1) : ref;
  }

  private queueArn(name: string): string {
    return `arn:aws:batch:${this.region}:${this.account}:job-queue/${name}`;
  }

  private jobArn(id: string): string {
    return `arn:aws:batch:${this.region}:${this.account}:job/${id}`;
  }
}

function requireString(i: Input, key: string): string {
  const v = i[key];
  if (typeof v !== 'string' || v === '') throw new BatchApiError('ClientException', `${key} is required.`);
  return v;
}

function mergeEnv(base: KeyValue[] | undefined, over: KeyValue[] | undefined): KeyValue[] {
  const map = new Map((base ?? []).map((kv) => [kv.name, kv.value]));
  for (const kv of over ?? []) map.set(kv.name, kv.value);
  return [...map].map(([name, value]) => ({ name, value }));
}

function mergeResources(base: ResourceRequirement[] | undefined, over: ResourceRequirement[] | undefined): ResourceRequirement[] {
  const map = new Map((base ?? []).map((r) => [r.type, r.value]));
  for (const r of over ?? []) map.set(r.type, r.value);
  return [...map].map(([type, value]) => ({ type, value }));
}

/**
 * The job's host volumes as bind mounts, as Batch on EC2 mounts `volumes[].host.sourcePath` at each
 * mount point. A mount point naming no declared host volume is skipped (Batch rejects it at
 * registration; nothing here depends on that).
 */
function volumeMounts(c: ContainerProperties): VolumeMount[] {
  const mounts: VolumeMount[] = [];
  for (const m of c.mountPoints ?? []) {
    const source = c.volumes?.find((v) => v.name === m.sourceVolume)?.host?.sourcePath;
    if (source) mounts.push({ host: source, container: m.containerPath, readOnly: m.readOnly === true });
  }
  return mounts;
}
