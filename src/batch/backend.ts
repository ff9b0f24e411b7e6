import { type BatchClient, DescribeJobsCommand, type JobDetail, ListJobsCommand, SubmitJobCommand, TerminateJobCommand } from '@aws-sdk/client-batch';
import type { BatchConfig } from '../config/config.js';
import type { StepSettings } from '../decorators/settings.js';
import { ExitCode, type FlowErrorJson } from '../errors/index.js';
import type { TaskBackend } from '../runtime/backend.js';
import type { TaskOutcome } from '../runtime/pool.js';
import { NO_LOGS } from '../runtime/task-logs.js';
import type { ArtifactRef } from '../metadata/records.js';
import type { Store } from '../store/types.js';
import type { TaskJob } from '../task/protocol.js';
import { batchError, isThrottling, type JobDefinitions } from './api.js';
import type { ObjectBridge } from './objects.js';
import { type BatchTaskResult, type JobEnd, jobEndError, resultPath, type TaskPayload } from './payload.js';
import { type BatchStepSettings, jobName } from './settings.js';

/** AWS Batch's largest array job. */
export const MAX_ARRAY_SIZE = 10_000;
const DESCRIBE_MAX_IDS = 100;

export interface BatchBackendOptions {
  client: BatchClient;
  config: BatchConfig | undefined;
  run: string;
  flow: string;
  /** The S3 store the jobs use, and the bridge from the orchestrator's store to it. */
  remote: Store;
  bridge: ObjectBridge;
  definitions: JobDefinitions;
  code: TaskPayload['code'];
  /** Settings of each @batch step. */
  steps: Map<string, BatchStepSettings>;
  /** Variables every job gets (where the S3 store is). */
  environment: Record<string, string>;
  /** Poll interval bounds: the minimum after a change, growing to the maximum while nothing changes. */
  pollMs?: { min: number; max: number };
  /** A job RUNNABLE this long with nothing of it running fails: no compute environment can place it. */
  runnableLimitMs: number;
  /** State transitions, for the terminal. */
  info: (line: string) => void;
}

interface Tracked {
  job: TaskJob;
  timeoutMs?: number;
  onStart?: () => void;
  resolve: (o: TaskOutcome) => void;
  unit?: Unit;
  batchId?: string;
  index?: number;
  done?: boolean;
  aborted?: 'timeout' | 'interrupt';
}

/** One submitted Batch job: a plain job (one task) or an array job (one task per child). */
interface Unit {
  jobId: string;
  step: string;
  tasks: Tracked[];
  array: boolean;
  state: string;
  /** When something of it last started or finished (stuck-RUNNABLE clock). */
  progressAt: number;
  finished: number;
}

/**
 * The AWS Batch backend. Attempts handed over in the same tick for the same step go out as one
 * SubmitJob: an array job when there are several (a foreach), split every 10,000. A single poll
 * loop describes every unfinished job, ≤100 ids per DescribeJobs, backing off while nothing
 * changes; the children that finished are listed with ListJobs. A task writes its own result
 * record to the S3 store; the backend copies what it produced back and hands the outcome to the
 * scheduler, which records it as for a local task.
 */
export class BatchBackend implements TaskBackend {
  readonly name = 'batch';
  /** Batch queues what it cannot place yet: hand it everything that is ready. */
  readonly capacity = Number.POSITIVE_INFINITY;
  readonly calls: Record<string, number> = {};
  private pending: Tracked[] = [];
  private readonly byJob = new Map<TaskJob, Tracked>();
  private readonly units = new Set<Unit>();
  private timer: NodeJS.Timeout | undefined;
  private interval: number;
  private closed = false;
  private terminating: Tracked[] = [];

  constructor(private readonly o: BatchBackendOptions) {
    this.interval = o.pollMs?.min ?? 1000;
  }

  run(job: TaskJob, settings: StepSettings, onStart?: () => void): Promise<TaskOutcome> {
    return new Promise((resolve) => {
      const t: Tracked = { job, onStart, resolve, timeoutMs: settings.timeoutMs };
      this.byJob.set(job, t);
      if (this.pending.length === 0) setImmediate(() => void this.flush());
      this.pending.push(t);
    });
  }

  abort(job: TaskJob, reason: 'timeout' | 'interrupt'): void {
    const t = this.byJob.get(job);
    if (!t || t.done) return;
    t.aborted = reason;
    if (!t.unit) return; // not submitted yet: flush() resolves it
    if (this.terminating.length === 0) setImmediate(() => void this.terminate());
    this.terminating.push(t);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  // ---- submission ----------------------------------------------------------------------

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const groups = new Map<string, Tracked[]>();
    for (const t of batch) {
      if (t.aborted) { this.settle(t, { result: { ok: false, error: interrupted(t.job, 'was not submitted because the run stopped') }, logs: NO_LOGS }); continue; }
      const list = groups.get(t.job.step) ?? [];
      list.push(t);
      groups.set(t.job.step, list);
    }
    await Promise.all([...groups.values()].flatMap((list) => chunks(list, MAX_ARRAY_SIZE)).map((chunk) => this.submit(chunk)));
  }

  private async submit(tasks: Tracked[]): Promise<void> {
    const step = tasks[0]!.job.step;
    const settings = this.o.steps.get(step)!;
    try {
      const definition = await this.o.definitions.arnFor(settings);
      await this.o.bridge.upload(tasks.flatMap((t) => inputRefs(t.job)), [this.o.code.hash, ...inputObjects(tasks[0]!.job)]);
      const payload: TaskPayload = { v: 1, run: this.o.run, code: this.o.code, tasks: tasks.map((t) => t.job) };
      const payloadHash = await this.o.remote.putObject(Buffer.from(JSON.stringify(payload)));
      const attempt = Math.max(...tasks.map((t) => t.job.attempt));
      const env = { ...this.o.environment, FLOW_TASK_PAYLOAD: payloadHash };
      const timeout = maxTimeout(tasks);
      this.count('SubmitJob');
      const r = await this.o.client.send(new SubmitJobCommand({
        jobName: jobName(this.o.flow, this.o.run, attempt > 0 ? `${step}-retry${attempt}` : step),
        jobQueue: settings.queue, jobDefinition: definition,
        ...(tasks.length > 1 ? { arrayProperties: { size: tasks.length } } : {}),
        containerOverrides: { environment: Object.entries(env).map(([name, value]) => ({ name, value })) },
        retryStrategy: { attempts: 1 }, // flowrun retries (@retry), so every attempt is recorded and only failed tasks rerun
        ...(timeout ? { timeout: { attemptDurationSeconds: Math.max(60, Math.ceil(timeout / 1000)) } } : {}),
        tags: { 'flowrun:flow': this.o.flow, 'flowrun:run': this.o.run, 'flowrun:step': step },
        propagateTags: true,
      }));
      const unit: Unit = { jobId: r.jobId!, step, tasks, array: tasks.length > 1, state: 'SUBMITTED', progressAt: Date.now(), finished: 0 };
      tasks.forEach((t, index) => { t.unit = unit; t.batchId = unit.array ? `${unit.jobId}:${index}` : unit.jobId; if (unit.array) t.index = index; });
      this.units.add(unit);
      this.o.info(`${step}: submitted ${unit.array ? `array job ${unit.jobId} (${tasks.length} tasks)` : `job ${unit.jobId} (task ${tasks[0]!.job.taskId})`} to ${settings.queue}`);
      for (const t of tasks) if (t.aborted) this.abort(t.job, t.aborted);
      this.schedulePoll(0);
    } catch (e) {
      const err = batchError(e, `Submitting step ${step} to AWS Batch`, this.o.config).toJSON();
      for (const t of tasks) this.settle(t, { result: { ok: false, error: { ...err, step } }, logs: NO_LOGS });
    }
  }

  // ---- polling -------------------------------------------------------------------------

  private schedulePoll(delay: number): void {
    if (this.closed || this.units.size === 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), delay);
  }

  private async poll(): Promise<void> {
    const min = this.o.pollMs?.min ?? 1000;
    const max = this.o.pollMs?.max ?? 15_000;
    let changed = false;
    const units = [...this.units];
    try {
      for (const ids of chunks(units.map((u) => u.jobId), DESCRIBE_MAX_IDS)) {
        this.count('DescribeJobs');
        const r = await this.o.client.send(new DescribeJobsCommand({ jobs: ids }));
        for (const detail of r.jobs ?? []) {
          const unit = units.find((u) => u.jobId === detail.jobId);
          if (unit && (await this.update(unit, detail))) changed = true;
        }
      }
      this.interval = changed ? min : Math.min(max, Math.ceil(this.interval * 1.5));
    } catch (e) {
      // The SDK already retried a throttled call; back off further and keep polling.
      if (!isThrottling(e)) this.o.info(`AWS Batch: ${(e as Error).message}; polling again`);
      this.interval = Math.min(max, this.interval * 2);
    }
    this.schedulePoll(this.interval);
  }

  /** Applies a job's description; returns whether anything changed. */
  private async update(unit: Unit, d: JobDetail): Promise<boolean> {
    const summary = d.arrayProperties?.statusSummary;
    const state = summary ? Object.entries(summary).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ') : d.status!;
    const changed = state !== unit.state;
    if (changed) {
      unit.state = state;
      this.o.info(`${unit.step}: ${unit.array ? `array job ${unit.jobId}: ${state}` : `task ${unit.tasks[0]!.job.taskId} ${d.status}`}`);
      if (d.status === 'RUNNING' || d.status === 'STARTING') unit.progressAt = Date.now();
    }
    if (!unit.array) {
      const t = unit.tasks[0]!;
      if (d.status === 'RUNNING' && t.onStart) { t.onStart(); t.onStart = undefined; }
      if (d.status === 'SUCCEEDED' || d.status === 'FAILED') {
        const last = d.attempts?.at(-1);
        await this.finishTask(t, { batchJobId: unit.jobId, status: d.status, statusReason: d.statusReason, exitCode: d.container?.exitCode ?? last?.container?.exitCode, reason: d.container?.reason ?? last?.container?.reason });
      }
    } else if (summary) {
      const finished = (summary.SUCCEEDED ?? 0) + (summary.FAILED ?? 0);
      if (finished > unit.finished) { unit.progressAt = Date.now(); await this.finishChildren(unit); unit.finished = finished; }
      if ((summary.RUNNING ?? 0) + (summary.STARTING ?? 0) > 0) unit.progressAt = Date.now();
    }
    this.checkStuck(unit, d);
    if (unit.tasks.every((t) => t.done)) this.units.delete(unit);
    return changed;
  }

  /** Finds which children finished (ListJobs per terminal status) and settles them. */
  private async finishChildren(unit: Unit): Promise<void> {
    for (const jobStatus of ['SUCCEEDED', 'FAILED'] as const) {
      let nextToken: string | undefined;
      do {
        this.count('ListJobs');
        const page = await this.o.client.send(new ListJobsCommand({ arrayJobId: unit.jobId, jobStatus, maxResults: 1000, nextToken }));
        for (const s of page.jobSummaryList ?? []) {
          const index = s.arrayProperties?.index;
          const t = index === undefined ? undefined : unit.tasks[index];
          if (t && !t.done) await this.finishTask(t, { batchJobId: s.jobId!, status: jobStatus, statusReason: s.statusReason, exitCode: s.container?.exitCode, reason: s.container?.reason, arrayIndex: index });
        }
        nextToken = page.nextToken;
      } while (nextToken);
    }
  }

  private checkStuck(unit: Unit, d: JobDetail): void {
    const summary = d.arrayProperties?.statusSummary;
    const runnable = summary ? (summary.RUNNABLE ?? 0) > 0 && (summary.RUNNING ?? 0) + (summary.STARTING ?? 0) === 0 : d.status === 'RUNNABLE';
    if (!runnable || Date.now() - unit.progressAt < this.o.runnableLimitMs) return;
    const settings = this.o.steps.get(unit.step)!;
    const seconds = Math.round(this.o.runnableLimitMs / 1000);
    const error: FlowErrorJson = {
      code: 'BATCH_STUCK_RUNNABLE', step: unit.step, exitCode: ExitCode.remote, data: { batchJobId: unit.jobId, queue: settings.queue },
      message: `Step ${unit.step}: Batch job ${unit.jobId} stayed RUNNABLE for ${seconds} s in queue ${settings.queue}: no compute environment placed it (it asks for ${settings.cpu} vCPU, ${settings.memory} MiB${settings.gpu ? `, ${settings.gpu} GPU` : ''}).`,
      fix: 'Check that the queue\'s compute environment is ENABLED and VALID and that its instance types have that much CPU/memory (maxvCpus > 0), or ask for less with @resources; the limit is batch.runnableTimeoutSeconds.',
    };
    for (const t of unit.tasks) if (!t.done) this.settle(t, { result: { ok: false, error }, logs: NO_LOGS });
    this.units.delete(unit);
    this.count('TerminateJob');
    void this.o.client.send(new TerminateJobCommand({ jobId: unit.jobId, reason: `flowrun: RUNNABLE for more than ${seconds} s` })).catch(() => undefined);
  }

  // ---- outcomes ------------------------------------------------------------------------

  private async finishTask(t: Tracked, end: JobEnd): Promise<void> {
    if (t.done) return;
    t.done = true; // before any await: a later poll must not finish it twice
    const path = resultPath(this.o.run, t.job.step, t.job.taskId, t.job.attempt);
    let outcome: TaskOutcome;
    try {
      const rec = await this.o.remote.readRecord<BatchTaskResult>(path);
      if (rec) {
        await this.o.bridge.download(rec.result.ok ? Object.values(rec.result.artifacts) : [], [rec.logs.stdout, rec.logs.stderr]);
        const result = rec.result.ok ? rec.result : { ok: false as const, error: { ...rec.result.error, data: { ...rec.result.error.data, batchJobId: end.batchJobId, arrayIndex: end.arrayIndex, exitCode: end.exitCode } } };
        outcome = { result, logs: { stdout: { object: rec.logs.stdout }, stderr: { object: rec.logs.stderr } } };
      } else if (t.aborted) {
        outcome = { result: { ok: false, error: t.aborted === 'timeout' ? { code: 'TASK_TIMEOUT', step: t.job.step, exitCode: ExitCode.runFailed, message: `Task ${t.job.step}/${t.job.taskId} ran past its @timeout; its Batch job was terminated.`, fix: 'Raise @timeout or make the step faster.' } : interrupted(t.job, 'was stopped because the run was interrupted') }, logs: NO_LOGS };
      } else {
        outcome = { result: { ok: false, error: jobEndError(t.job, end, this.o.steps.get(t.job.step)!.memory) }, logs: NO_LOGS };
      }
    } catch (e) {
      outcome = { result: { ok: false, error: { ...batchError(e, `Reading the result of task ${t.job.step}/${t.job.taskId}`, this.o.config).toJSON(), step: t.job.step } }, logs: NO_LOGS };
    }
    this.settle(t, outcome, true);
  }

  private settle(t: Tracked, outcome: TaskOutcome, force = false): void {
    if (t.done && !force) return;
    t.done = true;
    this.byJob.delete(t.job);
    t.resolve(outcome);
  }

  /** Ctrl-C / timeouts: one TerminateJob per job whose tasks are all stopping, else per child. */
  private async terminate(): Promise<void> {
    const list = this.terminating;
    this.terminating = [];
    const targets = new Map<string, { reason: string; tasks: Tracked[] }>();
    for (const unit of new Set(list.map((t) => t.unit!))) {
      const open = unit.tasks.filter((t) => !t.done);
      const stopping = open.filter((t) => t.aborted);
      const reason = stopping.some((t) => t.aborted === 'interrupt') ? `flowrun: run ${this.o.run} interrupted` : 'flowrun: task exceeded its @timeout';
      if (stopping.length === open.length) targets.set(unit.jobId, { reason, tasks: stopping });
      else for (const t of stopping) targets.set(t.batchId!, { reason, tasks: [t] });
    }
    await Promise.all([...targets].map(async ([jobId, { reason, tasks }]) => {
      try {
        this.count('TerminateJob');
        await this.o.client.send(new TerminateJobCommand({ jobId, reason }));
      } catch (e) {
        this.o.info(`Could not terminate Batch job ${jobId}: ${(e as Error).message}`);
      }
      for (const t of tasks) {
        const end = { batchJobId: t.batchId!, status: 'FAILED', statusReason: reason, arrayIndex: t.index };
        await this.finishTask(t, end);
      }
    }));
  }

  private count(op: string): void {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
  }
}

function interrupted(job: TaskJob, what: string): FlowErrorJson {
  return { code: 'TASK_INTERRUPTED', step: job.step, exitCode: ExitCode.runFailed, message: `Task ${job.step}/${job.taskId} ${what}.` };
}

/** Every artifact a task may read: what it inherits, its join inputs, its foreach split. */
export function inputRefs(job: TaskJob): ArtifactRef[] {
  return [...Object.values(job.inherited), ...(job.inputs ?? []).flatMap((i) => Object.values(i.artifacts)), ...(job.foreach ? [job.foreach.artifact] : [])];
}

/** @timeout as the jobs' attempt duration (Batch's minimum is 60 s; the scheduler's own clock is exact). */
/** Plain objects a task reads besides artifacts: its @includeFile inputs. */
export function inputObjects(job: TaskJob): string[] {
  return Object.values(job.includes ?? {}).map((i) => i.hash);
}

function maxTimeout(tasks: Tracked[]): number | undefined {
  const limits = tasks.map((t) => t.timeoutMs).filter((x): x is number => x !== undefined);
  return limits.length ? Math.max(...limits) : undefined;
}

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}
