import { type BatchClient, DescribeJobsCommand, type JobDetail, ListJobsCommand, SubmitJobCommand, TerminateJobCommand } from '@aws-sdk/client-batch';
import type { BatchConfig } from '../config/config.js';
import type { StepSettings } from '../decorators/settings.js';
import { ExitCode, type FlowErrorJson, isFlowError } from '../errors/index.js';
import type { TaskBackend } from '../runtime/backend.js';
import type { TaskOutcome } from '../runtime/pool.js';
import { NO_LOGS } from '../runtime/task-logs.js';
import type { Store } from '../store/types.js';
import type { TaskJob } from '../task/protocol.js';
import { batchError, isThrottling, type JobDefinitions } from './api.js';
import { retryStrategy } from './definition.js';
import type { ContainerEnvs } from './envs.js';
import { inputObjects, inputRefs } from './inputs.js';
import type { ObjectBridge } from './objects.js';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DEFAULT_LOG_GROUP } from './log-group.js';
import { jobOutcome, type OutcomeContext } from './outcome.js';
import type { JobEnd, TaskPayload } from './payload.js';
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
  /** What each step's containers install (tarballs, conda lock), prepared before the run started. */
  envs: (step: string) => ContainerEnvs;
  /** Compiles the flow for the containers and stores it (called once, at the first submission); its object id. */
  module: () => Promise<string>;
  /** Seconds between uploads of a running task's output (default 10; 0: at the end only). */
  logEveryS?: number;
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
  /** Children seen SUCCEEDED / FAILED so far (ListJobs runs only for a status whose count grew). */
  finished: { SUCCEEDED: number; FAILED: number };
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
  private module: Promise<string> | undefined;
  private logs: CloudWatchLogsClient | undefined;

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
    this.logs?.destroy();
  }

  // ---- submission ----------------------------------------------------------------------

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const groups = new Map<string, Tracked[]>();
    for (const t of batch) {
      if (t.aborted) {
        this.settle(t, { result: { ok: false, error: interrupted(t.job, 'was not submitted because the run stopped') }, logs: NO_LOGS });
        continue;
      }
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
      this.module ??= this.o.module();
      const [definition, module] = await Promise.all([this.o.definitions.arnFor(settings), this.module]);
      await this.o.bridge.upload(
        tasks.flatMap((t) => inputRefs(t.job)),
        [this.o.code.hash, ...inputObjects(tasks[0]!.job)],
      );
      const payload: TaskPayload = {
        v: 2,
        run: this.o.run,
        code: this.o.code,
        module,
        ...this.o.envs(step),
        heapMB: heapFor(settings.memory),
        logEveryS: this.o.logEveryS ?? 10,
        tasks: tasks.map((t) => portable(t.job)),
      };
      const payloadHash = await this.o.remote.putObject(Buffer.from(JSON.stringify(payload)));
      const attempt = Math.max(...tasks.map((t) => t.job.attempt));
      const env = { ...this.o.environment, FLOW_TASK_PAYLOAD: payloadHash, FLOW_IMAGE: settings.image };
      const timeout = maxTimeout(tasks);
      this.count('SubmitJob');
      const r = await this.o.client.send(
        new SubmitJobCommand({
          jobName: jobName(this.o.flow, this.o.run, attempt > 0 ? `${step}-retry${attempt}` : step),
          jobQueue: settings.queue,
          jobDefinition: definition,
          ...(tasks.length > 1 ? { arrayProperties: { size: tasks.length } } : {}),
          containerOverrides: { environment: Object.entries(env).map(([name, value]) => ({ name, value })) },
          // Batch retries only a vanished host (Spot); flowrun's @retry does the rest, so every attempt is recorded and only failed tasks rerun.
          retryStrategy: retryStrategy(settings),
          ...(timeout ? { timeout: { attemptDurationSeconds: Math.max(60, Math.ceil(timeout / 1000)) } } : {}),
          tags: { ...settings.options.tags, 'flowrun:flow': this.o.flow, 'flowrun:run': this.o.run, 'flowrun:step': step },
          propagateTags: true,
        }),
      );
      const unit: Unit = { jobId: r.jobId!, step, tasks, array: tasks.length > 1, state: 'SUBMITTED', progressAt: Date.now(), finished: { SUCCEEDED: 0, FAILED: 0 } };
      tasks.forEach((t, index) => {
        t.unit = unit;
        t.batchId = unit.array ? `${unit.jobId}:${index}` : unit.jobId;
        if (unit.array) t.index = index;
      });
      this.units.add(unit);
      this.o.info(`${step}: submitted ${unit.array ? `array job ${unit.jobId} (${tasks.length} tasks)` : `job ${unit.jobId} (task ${tasks[0]!.job.taskId})`} to ${settings.queue}`);
      for (const t of tasks) if (t.aborted) this.abort(t.job, t.aborted);
      this.schedulePoll(0);
    } catch (e) {
      const err = isFlowError(e) ? e.toJSON() : batchError(e, `Submitting step ${step} to AWS Batch`, this.o.config).toJSON();
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
      for (const ids of chunks(
        units.map((u) => u.jobId),
        DESCRIBE_MAX_IDS,
      )) {
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
    const state = summary
      ? Object.entries(summary)
          .filter(([, n]) => n > 0)
          .map(([s, n]) => `${n} ${s}`)
          .join(', ')
      : d.status!;
    const changed = state !== unit.state;
    if (changed) {
      unit.state = state;
      this.o.info(`${unit.step}: ${unit.array ? `array job ${unit.jobId}: ${state}` : `task ${unit.tasks[0]!.job.taskId} ${d.status}`}`);
      if (d.status === 'RUNNING' || d.status === 'STARTING') unit.progressAt = Date.now();
    }
    if (!unit.array) {
      const t = unit.tasks[0]!;
      if (d.status === 'RUNNING' && t.onStart) {
        t.onStart();
        t.onStart = undefined;
      }
      if (d.status === 'SUCCEEDED' || d.status === 'FAILED') {
        const last = d.attempts?.at(-1);
        await this.finishTask(t, {
          batchJobId: unit.jobId,
          status: d.status,
          statusReason: d.statusReason,
          exitCode: d.container?.exitCode ?? last?.container?.exitCode,
          reason: d.container?.reason ?? last?.container?.reason,
          logStream: last?.container?.logStreamName ?? d.container?.logStreamName,
          batchAttempts: d.attempts?.length,
        });
      }
    } else if (summary) {
      const grown = (['SUCCEEDED', 'FAILED'] as const).filter((st) => (summary[st] ?? 0) > unit.finished[st]);
      if (grown.length > 0) {
        unit.progressAt = Date.now();
        await this.finishChildren(unit, grown);
        for (const st of grown) unit.finished[st] = summary[st] ?? 0;
      }
      if ((summary.RUNNING ?? 0) + (summary.STARTING ?? 0) > 0) unit.progressAt = Date.now();
    }
    this.checkStuck(unit, d);
    if (unit.tasks.every((t) => t.done)) this.units.delete(unit);
    return changed;
  }

  /** Finds which children finished (ListJobs per terminal status whose count grew) and settles them. */
  private async finishChildren(unit: Unit, statuses: ReadonlyArray<'SUCCEEDED' | 'FAILED'>): Promise<void> {
    for (const jobStatus of statuses) {
      let nextToken: string | undefined;
      do {
        this.count('ListJobs');
        const page = await this.o.client.send(new ListJobsCommand({ arrayJobId: unit.jobId, jobStatus, maxResults: 1000, nextToken }));
        const ended = (page.jobSummaryList ?? []).filter((s) => s.arrayProperties?.index !== undefined && !unit.tasks[s.arrayProperties.index]?.done);
        // ListJobs has no log stream: a failed child's comes from DescribeJobs (its log says why it failed).
        const streams = jobStatus === 'FAILED' ? await this.logStreams(ended.map((s) => s.jobId!)) : new Map<string, string>();
        for (const s of ended) {
          const index = s.arrayProperties!.index!;
          await this.finishTask(unit.tasks[index]!, { batchJobId: s.jobId!, status: jobStatus, statusReason: s.statusReason, exitCode: s.container?.exitCode, reason: s.container?.reason, arrayIndex: index, logStream: streams.get(s.jobId!) });
        }
        nextToken = page.nextToken;
      } while (nextToken);
    }
  }

  private async logStreams(jobIds: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const ids of chunks(jobIds, DESCRIBE_MAX_IDS)) {
      this.count('DescribeJobs');
      const r = await this.o.client.send(new DescribeJobsCommand({ jobs: ids })).catch(() => undefined);
      for (const d of r?.jobs ?? []) {
        const stream = d.attempts?.at(-1)?.container?.logStreamName ?? d.container?.logStreamName;
        if (stream) out.set(d.jobId!, stream);
      }
    }
    return out;
  }

  private checkStuck(unit: Unit, d: JobDetail): void {
    const summary = d.arrayProperties?.statusSummary;
    const runnable = summary ? (summary.RUNNABLE ?? 0) > 0 && (summary.RUNNING ?? 0) + (summary.STARTING ?? 0) === 0 : d.status === 'RUNNABLE';
    if (!runnable || Date.now() - unit.progressAt < this.o.runnableLimitMs) return;
    const settings = this.o.steps.get(unit.step)!;
    const seconds = Math.round(this.o.runnableLimitMs / 1000);
    const error: FlowErrorJson = {
      code: 'BATCH_STUCK_RUNNABLE',
      step: unit.step,
      exitCode: ExitCode.remote,
      data: { batchJobId: unit.jobId, queue: settings.queue },
      message: `Step ${unit.step}: Batch job ${unit.jobId} stayed RUNNABLE for ${seconds} s in queue ${settings.queue}: no compute environment placed it (it asks for ${settings.cpu} vCPU, ${settings.memory} MiB${settings.gpu ? `, ${settings.gpu} GPU` : ''}).`,
      fix: "Check that the queue's compute environment is ENABLED and VALID and that its instance types have that much CPU/memory (maxvCpus > 0), or ask for less with @resources; the limit is batch.runnableTimeoutSeconds.",
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
    this.settle(t, await jobOutcome(this.outcomes, t.job, end, t.aborted), true);
  }

  /** What jobOutcome needs; CloudWatch Logs is loaded only when a job failed without a result. */
  private get outcomes(): OutcomeContext {
    return {
      run: this.o.run,
      remote: this.o.remote,
      bridge: this.o.bridge,
      config: this.o.config,
      memoryOf: (step) => this.o.steps.get(step)!.memory,
      imageOf: (step) => this.o.steps.get(step)!.image,
      logGroupOf: (step) => this.o.steps.get(step)!.logGroup ?? DEFAULT_LOG_GROUP,
      jobError: async (ref) => {
        const logs = await import('./logs.js');
        this.logs ??= logs.logsClient(this.o.config);
        // The awslogs driver flushes a stopped container's last lines within seconds: look again briefly.
        for (let i = 0; i < 4; i++) {
          this.count('GetLogEvents');
          const found = logs.jobErrorIn((await logs.readLogStream(this.logs, ref))?.text ?? '');
          if (found || i === 3) return found;
          await new Promise((r) => setTimeout(r, this.o.pollMs?.min ?? 1000));
        }
        return undefined;
      },
    };
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
    await Promise.all(
      [...targets].map(async ([jobId, { reason, tasks }]) => {
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
      }),
    );
  }

  private count(op: string): void {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
  }
}

function interrupted(job: TaskJob, what: string): FlowErrorJson {
  return { code: 'TASK_INTERRUPTED', step: job.step, exitCode: ExitCode.runFailed, message: `Task ${job.step}/${job.taskId} ${what}.` };
}

/**
 * The task as data any machine can run: the orchestrator's paths (its compiled module, store,
 * environment directories) are dropped; the container sets its own.
 */
function portable(job: TaskJob): TaskJob {
  const { npm: _npm, ...rest } = job;
  return { ...rest, modulePath: '', storeRoot: '' };
}

/**
 * The worker's V8 heap limit for a job of `memoryMiB`: the container's memory less what Node
 * needs outside the heap (buffers, code, the bootstrap process), so a large job is not stopped at
 * V8's default (~4 GiB) and a small one fails as a heap OOM (a clear error) before the kernel kills it.
 */
export function heapFor(memoryMiB: number): number {
  return Math.max(64, Math.floor(memoryMiB >= 4096 ? memoryMiB - 1024 : memoryMiB * 0.75));
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
