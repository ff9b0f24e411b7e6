import { setTimeout as sleep } from 'node:timers/promises';
import type { Literal } from '../decorators/types.js';
import { stepSettings, type StepSettings } from '../decorators/settings.js';
import type { FlowErrorJson } from '../errors/index.js';
import { type FlowGraph, type StepNode, stepMap } from '../graph/types.js';
import type { DiskStore } from '../store/types.js';
import type { RunFacts, TaskJob } from '../task/protocol.js';
import type { ReusedTask, TaskHooks, TaskInputs } from '../task/hooks.js';
import { seedHex, taskSeed } from '../task/seed.js';
import type { TaskNpmEnv } from '../task/env-resolution.js';
import { saveArtifact } from '../task/artifacts.js';
import type { TaskBackend } from './backend.js';
import { storeAttemptLogs } from './task-logs.js';
import { type DoneTask, Successors, type TaskSpec } from './successors.js';
import { afterFailure, checkNext, cloneSource, logsStack } from './decisions.js';
import { type ArtifactRef, type AttemptRecord, type IncludeRecord, type StepSummary, type TaskRecord, taskRecordPath } from '../metadata/records.js';
import { traceMark } from '../util/trace.js';

export type { DoneTask, TaskSpec };

export interface SchedulerEvents {
  taskStarted?(spec: TaskSpec, attempt: number): void;
  taskFinished?(spec: TaskSpec, record: TaskRecord): void;
  retrying?(spec: TaskSpec, attempt: number, message: string): void;
}

export interface SchedulerOptions {
  graph: FlowGraph;
  run: string;
  store: DiskStore;
  /** Where each step's tasks run (the local pool, or Batch for @batch steps). */
  backendFor: (step: string) => TaskBackend;
  modulePath: string;
  params: Record<string, Literal>;
  /** @includeFile inputs: their content is installed in place of the path. */
  includes?: Record<string, IncludeRecord>;
  seed: number;
  /** flow replay: the Math.random seed the origin recorded for a task's attempt (else derived). */
  seedFor?: (step: string, id: string, attempt: number) => string | undefined;
  /** What a step reads through `current` about its run. */
  context?: RunFacts;
  maxNumSplits: number;
  /** Steps with their own @npm environment: where it is installed and the names it provides. */
  npmEnvs?: ReadonlyMap<string, TaskNpmEnv>;
  /** Environment variables a step's environment sets (conda: PATH, CONDA_PREFIX), under its @environment vars. */
  envVars?: ReadonlyMap<string, Record<string, string>>;
  /** For resume: an ok task of the origin run to reuse instead of running (step, id). */
  cloneFrom?: (step: string, id: string) => TaskRecord | undefined;
  /** Clone what cloneFrom offers even when a parent ran again (flow cache verify reruns only some tasks). */
  cloneAlways?: boolean;
  /**
   * A record whose artifacts a task hands to its successors instead of its own: flow cache
   * verify checks each recomputed task on the inputs its run recorded, not on a neighbour's
   * recomputation.
   */
  handOn?: (step: string, id: string) => TaskRecord | undefined;
  /** Called around every task that is not cloned (the step cache). */
  hooks?: TaskHooks;
  events?: SchedulerEvents;
}

export interface SchedulerResult {
  status: 'ok' | 'failed' | 'interrupted';
  summary: Record<string, StepSummary>;
  /** The first task failure (the run's error). */
  failure?: FlowErrorJson & { task: string };
  /** The orchestrator could not record a task (its store failed: a full disk): the run stopped. */
  fatal?: unknown;
}

/**
 * Executes the DAG: a task becomes ready when its inputs are done (joins wait for every
 * branch, or every split of the foreach they close, and receive them in split order), and up
 * each step's backend takes as many as its capacity allows (the local pool: maxWorkers). The first task failure stops new work;
 * tasks already running finish and are recorded, so `flow resume` can reuse them.
 */
export class Scheduler {
  private readonly steps: Map<string, StepNode>;
  private readonly settings = new Map<string, StepSettings>();
  private readonly successors: Successors;
  /** Ready tasks per backend, in the order they became ready. */
  private readonly ready = new Map<TaskBackend, TaskSpec[]>();
  private readonly backends = new Map<string, TaskBackend>();
  private readonly busy = new Map<TaskBackend, number>();
  private readonly running = new Map<TaskSpec, TaskJob | undefined>();
  private readonly summary: Record<string, StepSummary> = {};
  private inFlight = 0;
  private queued = 0;
  /** Aborted on interrupt, so a @retry wait does not delay stopping. */
  private readonly stopSignal = new AbortController();
  private stopping: 'failed' | 'interrupted' | undefined;
  private failure?: SchedulerResult['failure'];
  private fatal: unknown;
  private finish!: () => void;

  constructor(private readonly o: SchedulerOptions) {
    this.steps = stepMap(o.graph);
    for (const s of o.graph.steps) {
      this.settings.set(s.name, stepSettings(s.decorators));
      const backend = o.backendFor(s.name);
      this.backends.set(s.name, backend);
      this.ready.set(backend, []);
      this.busy.set(backend, 0);
    }
    this.successors = new Successors(o.graph);
    for (const name of o.graph.order) this.summary[name] = { tasks: 0, ok: 0, failed: 0 };
  }

  async execute(): Promise<SchedulerResult> {
    const done = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    this.enqueue({ step: 'start', id: '0', stack: [], parents: [] }); // no parents: every() holds, so start can be reused
    this.pump();
    await done;
    return { status: this.stopping ?? 'ok', summary: this.summary, failure: this.failure, ...(this.fatal !== undefined ? { fatal: this.fatal } : {}) };
  }

  /** Ctrl-C: stop starting tasks and kill the running ones. */
  interrupt(): void {
    if (!this.stopping) this.stopping = 'interrupted';
    this.stopSignal.abort();
    for (const [spec, job] of this.running) if (job) this.backends.get(spec.step)!.abort(job, 'interrupt');
    this.pump();
  }

  /**
   * Storing a task's logs, artifacts or record failed (a full disk, a read-only store): nothing
   * more can be recorded, so no task starts and the running ones are stopped; the run ends with
   * that error instead of crashing on it.
   */
  private stopOnFatal(e: unknown): void {
    if (this.fatal === undefined) this.fatal = e;
    if (!this.stopping) this.stopping = 'failed';
    this.stopSignal.abort();
    for (const [spec, job] of this.running) if (job) this.backends.get(spec.step)!.abort(job, 'interrupt');
  }

  private enqueue(spec: TaskSpec): void {
    this.ready.get(this.backends.get(spec.step)!)!.push(spec);
    this.queued++;
  }

  private pump(): void {
    for (const [backend, queue] of this.ready) {
      let busy = this.busy.get(backend)!;
      while (!this.stopping && queue.length > 0 && busy < backend.capacity) {
        const spec = queue.shift()!;
        this.queued--;
        this.inFlight++;
        busy++;
        void this.runTask(spec, backend)
          .catch((e: unknown) => this.stopOnFatal(e))
          .finally(() => {
            this.inFlight--;
            this.busy.set(backend, this.busy.get(backend)! - 1);
            this.pump();
          });
      }
      this.busy.set(backend, busy);
    }
    if (this.inFlight === 0 && (this.stopping || this.queued === 0)) this.finish();
  }

  private async runTask(spec: TaskSpec, backend: TaskBackend): Promise<void> {
    // Resume reuses an origin task only when everything it read was reused too.
    const cloned = cloneSource(spec, this.o.cloneFrom, this.o.cloneAlways);
    if (cloned) return this.complete(spec, this.cloneRecord(spec, cloned), true);
    const hooks = this.o.hooks;
    const inputs = hooks ? this.taskInputs(spec) : undefined;
    const reused = inputs && !this.stopping ? await hooks!.beforeTask(inputs) : undefined;
    if (reused) return this.complete(spec, this.reusedRecord(spec, reused), false, reused.recorded);
    const settings = this.settings.get(spec.step)!;
    const attempts: AttemptRecord[] = [];
    this.running.set(spec, undefined);
    try {
      for (let attempt = 0; attempt < settings.attempts; attempt++) {
        if (attempt > 0 && settings.retryDelayMs > 0) await sleep(settings.retryDelayMs, undefined, { signal: this.stopSignal.signal }).catch(() => undefined);
        if (this.stopping) break;
        const job = this.job(spec, attempt, settings);
        this.running.set(spec, job);
        this.o.events?.taskStarted?.(spec, attempt);
        const started = new Date();
        let timer: NodeJS.Timeout | undefined;
        // The clock starts when a worker takes the job, not while it waits in the queue.
        const onStart = settings.timeoutMs
          ? () => {
              timer = setTimeout(() => backend.abort(job, 'timeout'), settings.timeoutMs);
            }
          : undefined;
        const outcome = await backend.run(job, settings, onStart);
        traceMark(`task ${job.step} outcome`);
        clearTimeout(timer);
        const finished = new Date();
        // A step's exception goes into its stderr log, as a traceback would: `flow logs` shows it.
        const stack = outcome.result.ok || !logsStack(settings, attempt) ? undefined : (outcome.result.error as { stack?: string }).stack;
        const logs = await storeAttemptLogs(this.o.store, outcome.logs, stack);
        let error = outcome.result.ok ? checkNext(this.steps.get(spec.step)!, this.o.graph.file, outcome.result.next) : outcome.result.error;
        const base = { attempt, started: started.toISOString(), finished: finished.toISOString(), durationMs: finished.getTime() - started.getTime(), logs, ...(outcome.remote ? { remote: outcome.remote } : {}), seed: job.taskSeed! };
        if (!error && outcome.result.ok) {
          attempts.push({ ...base, status: 'ok' });
          const next = outcome.result.next ? { ...outcome.result.next, ...(outcome.result.count !== undefined ? { count: outcome.result.count } : {}) } : undefined;
          const rec = withCards(this.record(spec, 'ok', attempts, outcome.result.artifacts, logs, next), outcome.result.cards);
          return this.complete(spec, rec, false, inputs && hooks!.afterTask(inputs, rec, outcome.result.reads));
        }
        error ??= { code: 'TASK_FAILED', message: `Task ${spec.step}/${spec.id} failed without an error.`, step: spec.step, exitCode: 1, fix: `See its output: flow logs ${this.o.run}/${spec.step}/${spec.id}` };
        attempts.push({ ...base, status: 'failed', error: stripStack(error) });
        const then = afterFailure(settings, attempt, { stopping: this.stopping !== undefined, foreachStep: Boolean(this.steps.get(spec.step)!.foreach) });
        if (then === 'retry') {
          this.o.events?.retrying?.(spec, attempt, `${error.code}: ${error.message}`);
          continue;
        }
        if (then === 'catch') {
          // Code and message only: a stack holds machine paths and would never reproduce (it is in the stderr log).
          const artifacts = { ...this.inherited(spec), [settings.catchVar!]: saveArtifact(this.o.store, { code: error.code, message: error.message }, spec.step, settings.catchVar!) };
          const rec = withCards(this.record(spec, 'ok', attempts, artifacts, logs, { targets: this.steps.get(spec.step)!.next }), outcome.result.cards);
          rec.caught = stripStack(error);
          return this.complete(spec, rec);
        }
        return this.fail(spec, withCards(this.record(spec, 'failed', attempts, {}, logs), outcome.result.cards), error);
      }
      if (this.stopping) {
        const empty = this.o.store.putObjectSync(Buffer.alloc(0));
        this.fail(spec, this.record(spec, 'failed', attempts, {}, { stdout: empty, stderr: empty }), {
          code: 'TASK_INTERRUPTED',
          message: `Task ${spec.step}/${spec.id} was not retried because the run stopped.`,
          step: spec.step,
          exitCode: 130,
          fix: 'Continue the run with flow resume.',
        });
      }
    } finally {
      this.running.delete(spec);
    }
  }

  private job(spec: TaskSpec, attempt: number, settings: StepSettings): TaskJob {
    const node = this.steps.get(spec.step)!;
    const job: TaskJob = {
      run: this.o.run,
      flow: this.o.graph.flow,
      step: spec.step,
      taskId: spec.id,
      attempt,
      modulePath: this.o.modulePath,
      storeRoot: this.o.store.root,
      params: this.o.params,
      seed: this.o.seed,
      taskSeed: this.o.seedFor?.(spec.step, spec.id, attempt) ?? seedHex(taskSeed(this.o.seed, spec.step, spec.id, attempt)),
      ...(this.o.context ? { context: this.o.context } : {}),
      ...(this.o.includes && Object.keys(this.o.includes).length ? { includes: this.o.includes } : {}),
      inherited: node.type === 'join' ? {} : this.inherited(spec),
      maxNumSplits: this.o.maxNumSplits,
      env: { ...this.o.envVars?.get(spec.step), ...settings.env },
    };
    if (node.type === 'join') job.inputs = spec.parents.map((p) => ({ task: `${p.step}/${p.id}`, artifacts: p.artifacts }));
    if (spec.foreach) job.foreach = spec.foreach;
    const npm = this.o.npmEnvs?.get(spec.step);
    if (npm) job.npm = npm;
    if (node.foreach !== undefined) job.splitField = node.foreach;
    if (this.o.hooks?.tracksReads(spec.step)) job.trackReads = true;
    return job;
  }

  /** What hooks see of a task: its id, its parent's artifacts (or each join input's), its foreach item. */
  private taskInputs(spec: TaskSpec): TaskInputs {
    const join = this.steps.get(spec.step)!.type === 'join';
    return {
      step: spec.step,
      id: spec.id,
      ...(join ? { inputs: spec.parents.map((p) => p.artifacts) } : { inherited: this.inherited(spec) }),
      ...(spec.foreach ? { foreach: spec.foreach } : {}),
    };
  }

  /** The record of a task whose outputs a hook reused: one attempt that took no time, the origin's logs. */
  private reusedRecord(spec: TaskSpec, r: ReusedTask): TaskRecord {
    const now = new Date().toISOString();
    const rec = this.record(spec, 'ok', [{ attempt: 0, started: now, finished: now, durationMs: 0, status: 'ok', logs: r.logs }], r.artifacts, r.logs, r.next);
    rec.cachedFrom = r.cachedFrom;
    if (r.cache) rec.cache = r.cache;
    return withCards(rec, r.cards);
  }

  private inherited(spec: TaskSpec): Record<string, ArtifactRef> {
    return spec.parents.length === 1 ? spec.parents[0]!.artifacts : {};
  }

  private record(spec: TaskSpec, status: 'ok' | 'failed', attempts: AttemptRecord[], artifacts: Record<string, ArtifactRef>, logs: { stdout: string; stderr: string }, next?: TaskRecord['next']): TaskRecord {
    const rec: TaskRecord = {
      schema: 'flowrun.task/1',
      run: this.o.run,
      step: spec.step,
      id: spec.id,
      stack: spec.stack,
      parents: spec.parents.map((p) => `${p.step}/${p.id}`),
      status,
      attempts,
      artifacts,
      logs,
    };
    if (next) rec.next = next;
    return rec;
  }

  private cloneRecord(spec: TaskSpec, origin: TaskRecord): TaskRecord {
    return { ...origin, run: this.o.run, parents: spec.parents.map((p) => `${p.step}/${p.id}`), clonedFrom: `${origin.run}/${origin.step}/${origin.id}` };
  }

  private fail(spec: TaskSpec, rec: TaskRecord, error: FlowErrorJson): void {
    this.o.store.writeRecordSync(taskRecordPath(this.o.run, spec.step, spec.id), rec);
    this.summary[spec.step]!.tasks++;
    this.summary[spec.step]!.failed++;
    this.o.events?.taskFinished?.(spec, rec);
    if (!this.failure) this.failure = { ...stripStack(error), task: `${spec.step}/${spec.id}` };
    if (!this.stopping) this.stopping = error.code === 'TASK_INTERRUPTED' ? 'interrupted' : 'failed';
  }

  private complete(spec: TaskSpec, rec: TaskRecord, cloned = false, recorded?: () => void): void {
    this.o.store.writeRecordSync(taskRecordPath(this.o.run, spec.step, spec.id), rec);
    recorded?.();
    const summary = this.summary[spec.step]!;
    summary.tasks++;
    summary.ok++;
    if (!cloned && rec.cachedFrom !== undefined) summary.cached = (summary.cached ?? 0) + 1;
    this.o.events?.taskFinished?.(spec, rec);
    const handed = this.o.handOn?.(spec.step, spec.id) ?? rec;
    const done: DoneTask = { step: spec.step, id: spec.id, stack: spec.stack, artifacts: handed.artifacts, next: handed.next, cloned };
    for (const next of this.successors.after(done)) this.enqueue(next);
  }
}

function stripStack<T extends FlowErrorJson>(e: T): FlowErrorJson {
  const { stack: _stack, ...rest } = e as T & { stack?: string };
  return rest;
}

/** The cards the attempt built, on its task's record. */
function withCards(rec: TaskRecord, cards: TaskRecord['cards'] | undefined): TaskRecord {
  if (cards?.length) rec.cards = cards;
  return rec;
}
