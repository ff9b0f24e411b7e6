import { openMirror } from '../mirror/mirror.js';
import { NotFoundError, UsageError } from '../errors/index.js';
import { type ListedStatus, type RunKind, listedStatus, runKind, selectRuns } from '../metadata/run-query.js';
import { currentUser, userNamespace } from '../metadata/user.js';
import { artifactSources } from './sources.js';
import { withTagLog } from '../metadata/tags.js';
import { readTagLog } from './tags.js';
import { type RunRecord, type TaskRecord, runRecordPath, taskRecordPath } from '../metadata/records.js';
import { isDiskStore, recordLocation, type SyncStore } from '../store/types.js';
import { checkRunRecord, checkTaskRecord } from '../metadata/record-check.js';
import { listRuns } from './list-runs.js';
import { type ClientOptions, mirrorOf, openStore } from './open-store.js';
import { loadArtifact } from '../task/load-artifact.js';
import { withLiveness } from '../metadata/liveness.js';
import { closest } from '../util/suggest.js';
import { compareTaskIds } from '../metadata/task-ids.js';
import { own } from '../util/own.js';
import { newestRunIds } from './newest-ids.js';

/** A run record, checked for shape (undefined when absent). */
function readRunRecord(store: SyncStore, id: string): RunRecord | undefined {
  const path = runRecordPath(id);
  const rec = store.readRecordSync<unknown>(path);
  return rec === undefined ? undefined : checkRunRecord(rec, recordLocation(store, path));
}

/**
 * A run, read lazily from the store: the record is read once; steps, tasks and artifacts are
 * read only when asked for.
 *
 * @example
 * const run = await Run.get('run-41');
 * await run.artifact('best');
 */
export class Run {
  private constructor(
    readonly store: SyncStore,
    readonly record: RunRecord,
  ) {}

  static async get(id: string, opts: ClientOptions = {}): Promise<Run> {
    return Run.open(openStore(opts), id);
  }

  /** A run from a record already read (and checked) from `store`. */
  static of(store: SyncStore, record: RunRecord): Run {
    return new Run(store, withLiveness(record));
  }

  static async open(store: SyncStore, id: string): Promise<Run> {
    let rec = /^run-\d+$/.test(id) ? readRunRecord(store, id) : undefined;
    // Only a disk store is opened with a mirror (openProjectStore), and a pull writes files.
    const mirror = isDiskStore(store) ? mirrorOf(store) : undefined;
    if (!rec && mirror && isDiskStore(store)) {
      // Not here: fetch it from the mirror (verified object by object), then read it locally.
      const { pullRun } = await import('../mirror/pull.js');
      await pullRun(await openMirror(mirror), store, id);
      rec = readRunRecord(store, id);
    }
    if (!rec) {
      const ids = await store.listRecords('runs');
      const guess = closest(id, ids);
      throw new NotFoundError('RUN_NOT_FOUND', `There is no run ${id} in the store ${store.location}.`, {
        fix: guess ? `Did you mean ${guess}? (flow runs lists them)` : 'flow runs lists the runs in this store.',
      });
    }
    return new Run(store, withTagLog(withLiveness(rec), readTagLog(store, rec.id)));
  }

  get id(): string {
    return this.record.id;
  }
  get flow(): string {
    return this.record.flow;
  }
  /** As lists show it: a replay that did not reproduce its origin is `diverged` (see ListedStatus). */
  get status(): ListedStatus {
    return listedStatus(this.record);
  }
  get params(): RunRecord['params'] {
    return this.record.params;
  }
  get successful(): boolean {
    return this.status === 'ok';
  }
  /** Who started the run (undefined for runs recorded before users were). */
  get user(): string | undefined {
    return this.record.user;
  }
  get tags(): readonly string[] {
    return this.record.tags;
  }
  /** `run`, `resume`, `replay` or `what-if`. */
  get kind(): RunKind {
    return runKind(this.record);
  }
  /** The run this one replays (a replay or a what-if). */
  get replayOf(): string | undefined {
    return this.record.replayOf;
  }

  /** Steps in topological order. */
  steps(): Step[] {
    return this.record.steps.map((s) => new Step(this, s.name));
  }

  step(name: string): Step {
    if (!this.record.steps.some((s) => s.name === name)) {
      const guess = closest(
        name,
        this.record.steps.map((s) => s.name),
      );
      throw new NotFoundError('STEP_NOT_FOUND', `Run ${this.id} has no step ${name}.`, { step: name, fix: guess ? `Did you mean ${guess}?` : `Steps: ${this.record.steps.map((s) => s.name).join(', ')}.` });
    }
    return new Step(this, name);
  }

  /**
   * An artifact's value as the run left it: from the end step, or else from the last step (in
   * topological order) where a task has it. When that step has several tasks (a foreach) whose
   * values differ, it is ambiguous (ARTIFACT_AMBIGUOUS): name the task (`run.step('fit').task('3')`).
   */
  async artifact(name: string): Promise<unknown> {
    return (await this.artifactTask(name)).artifact(name);
  }

  /** The task `artifact(name)` reads from. */
  async artifactTask(name: string): Promise<Task> {
    return pickOne(await this.artifactTasks(name), name, this.id);
  }

  /** Every task of the step `artifact(name)` reads from that has the artifact (several in a foreach). */
  async artifactTasks(name: string): Promise<Task[]> {
    const seen = new Set<string>();
    for (const step of [...this.steps()].reverse()) {
      const tasks = await step.tasks();
      for (const t of tasks) for (const a of Object.keys(t.record.artifacts)) seen.add(a);
      const holders = tasks.filter((t) => Object.hasOwn(t.record.artifacts, name));
      if (holders.length) return holders;
    }
    const guess = closest(name, seen);
    throw new NotFoundError('ARTIFACT_NOT_FOUND', `Run ${this.id} has no artifact ${name}.`, { artifact: name, fix: guess ? `Did you mean ${guess}?` : `Artifacts: ${[...seen].sort().join(', ') || '(none)'}.` });
  }
}

/**
 * One task's artifact among several tasks that hold it: fine when they all hold the same value
 * (same hash), ambiguous otherwise: a foreach's tasks each have their own.
 */
function pickOne(holders: Task[], name: string, run: string): Task {
  const first = holders[0]!;
  if (holders.every((t) => t.record.artifacts[name]!.hash === first.record.artifacts[name]!.hash)) return first;
  const step = first.step;
  const ids = holders.map((t) => t.id);
  const shown = ids.length > 6 ? `${ids.slice(0, 3).join(', ')}, …, ${ids.slice(-2).join(', ')}` : ids.join(', ');
  throw new UsageError('ARTIFACT_AMBIGUOUS', `Artifact ${name} of ${run} is set by ${holders.length} tasks of step ${step} (tasks ${shown}), each with its own value.`, {
    artifact: name,
    step,
    fix: `Name the task: flow get ${run}/${step}/${first.id} ${name}, or print every task's value: flow get ${run}/${step} ${name} --all (in code: run.step('${step}').task('${first.id}')).`,
    data: { tasks: holders.map((t) => t.pathspec) },
  });
}

export class Step {
  constructor(
    readonly run: Run,
    readonly name: string,
  ) {}

  /** This step's tasks, in task-id order (split order for a foreach). */
  async tasks(): Promise<Task[]> {
    const names = await this.run.store.listRecords(`runs/${this.run.id}/tasks/${this.name}`);
    const ids = names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5));
    ids.sort(compareTaskIds);
    return ids.map((id) => this.taskById(id)!);
  }

  /** Tasks of this step that have the artifact, in task-id order. */
  async artifactTasks(name: string): Promise<Task[]> {
    const tasks = await this.tasks();
    const holders = tasks.filter((t) => Object.hasOwn(t.record.artifacts, name));
    if (holders.length) return holders;
    const names = new Set(tasks.flatMap((t) => t.artifactNames()));
    const guess = closest(name, names);
    throw new NotFoundError('ARTIFACT_NOT_FOUND', `No task of step ${this.name} of ${this.run.id} has an artifact ${name}.`, { artifact: name, step: this.name, fix: guess ? `Did you mean ${guess}?` : `Its artifacts: ${[...names].sort().join(', ') || '(none)'}.` });
  }

  /** The artifact's value in this step: ambiguous (ARTIFACT_AMBIGUOUS) when its tasks hold different values. */
  async artifact(name: string): Promise<unknown> {
    return (await this.artifactTask(name)).artifact(name);
  }

  /** The task `artifact(name)` reads from. */
  async artifactTask(name: string): Promise<Task> {
    return pickOne(await this.artifactTasks(name), name, this.run.id);
  }

  task(id: string): Task {
    const t = this.taskById(id);
    if (!t) {
      const ids = this.run.store
        .listRecordsSync(`runs/${this.run.id}/tasks/${this.name}`)
        .filter((n) => n.endsWith('.json'))
        .map((n) => n.slice(0, -5))
        .sort(compareTaskIds);
      const shown = ids.length > 8 ? `${ids.slice(0, 4).join(', ')}, …, ${ids.slice(-2).join(', ')}` : ids.join(', ');
      throw new NotFoundError('TASK_NOT_FOUND', `Step ${this.name} of ${this.run.id} has no task ${id}.`, { step: this.name, fix: ids.length ? `Its tasks: ${shown} (flow inspect ${this.run.id}/${this.name} lists them).` : `It has no task records (flow inspect ${this.run.id} shows the run).` });
    }
    return t;
  }

  private taskById(id: string): Task | undefined {
    if (!/^\d+(\.\d+)*$/.test(id)) return undefined;
    const path = taskRecordPath(this.run.id, this.name, id);
    const rec = this.run.store.readRecordSync<unknown>(path);
    return rec === undefined ? undefined : new Task(this.run.store, checkTaskRecord(rec, recordLocation(this.run.store, path)));
  }
}

export class Task {
  constructor(
    readonly store: SyncStore,
    readonly record: TaskRecord,
  ) {}

  get id(): string {
    return this.record.id;
  }
  get step(): string {
    return this.record.step;
  }
  get status(): TaskRecord['status'] {
    return this.record.status;
  }
  get pathspec(): string {
    return `${this.record.run}/${this.record.step}/${this.record.id}`;
  }

  artifactNames(): string[] {
    return Object.keys(this.record.artifacts).sort();
  }

  /** `step/id` of the tasks this one read from, in input order. */
  get parents(): readonly string[] {
    return this.record.parents;
  }

  /**
   * Where each artifact comes from: `null` when this task set it, else the parent (`step/id`)
   * it was carried over from unchanged. Reads the parents' records.
   */
  artifactSources(): Record<string, string | null> {
    const parents = this.record.parents.flatMap((p) => {
      const [step, id] = p.split('/') as [string, string];
      const rec = /^\d+(\.\d+)*$/.test(id ?? '') ? this.store.readRecordSync<unknown>(taskRecordPath(this.record.run, step, id)) : undefined;
      return rec === undefined ? [] : [checkTaskRecord(rec, recordLocation(this.store, taskRecordPath(this.record.run, step, id)))];
    });
    return artifactSources(this.record, parents);
  }

  /** Loads and verifies one artifact. */
  async artifact(name: string): Promise<unknown> {
    const ref = own(this.record.artifacts, name); // `constructor` or `__proto__` is not an artifact
    if (!ref) {
      const guess = closest(name, Object.keys(this.record.artifacts));
      throw new NotFoundError('ARTIFACT_NOT_FOUND', `Task ${this.pathspec} has no artifact ${name}.`, { artifact: name, step: this.step, fix: guess ? `Did you mean ${guess}?` : `Its artifacts: ${this.artifactNames().join(', ') || '(none)'}.` });
    }
    return loadArtifact(this.store, ref);
  }

  /**
   * The stdout and stderr of one attempt (`attempt` as numbered in the record, from 0; default
   * the last). Records written before each attempt's logs were kept have the last one only.
   */
  async logs(attempt?: number): Promise<{ attempt: number; stdout: string; stderr: string }> {
    const attempts = this.record.attempts;
    const last = attempts.at(-1)?.attempt ?? 0;
    const n = attempt ?? last;
    const found = attempts.find((a) => a.attempt === n);
    const refs = found?.logs ?? (n === last ? this.record.logs : undefined);
    if (!refs) {
      const kept = attempts.filter((a) => a.logs).map((a) => a.attempt);
      throw new NotFoundError('LOGS_NOT_FOUND', found ? `Task ${this.pathspec} was recorded before each attempt's logs were kept: only the last attempt's (${last}) are stored.` : `Task ${this.pathspec} has no attempt ${n}.`, {
        step: this.step,
        fix: `Its attempts: ${attempts.map((a) => a.attempt).join(', ') || '(none)'}${kept.length ? '' : ` (logs kept for ${last} only)`}; omit --attempt for the last.`,
      });
    }
    return {
      attempt: n,
      stdout: this.store.getObjectSync(refs.stdout).toString('utf8'),
      stderr: this.store.getObjectSync(refs.stderr).toString('utf8'),
    };
  }
}

/** Filters of `Flow.runs()`: every one given must hold. */
export interface FlowRunsQuery {
  /** Runs carrying every one of these tags (tags added with `flow tag` count). */
  tags?: string[];
  status?: ListedStatus;
  /** Runs started by this user (whatever the namespace). */
  user?: string;
  /** The newest N that match. */
  limit?: number;
  /** Also list replays and what-if replays (by default a flow's runs are its runs and resumes). */
  replays?: boolean;
}

/**
 * A flow's runs in a store, as the current namespace shows them (default `user:<you>`, as in
 * Metaflow: `namespace(null)` for everyone's). Replays and what-ifs are not runs of the flow's
 * own: `latestRun()` and `latestSuccessfulRun()` never return one, `runs()` only when asked.
 *
 * @example
 * const best = await Flow.get('TrainFlow').latestSuccessfulRun();
 * const nightly = await Flow.get('TrainFlow').runs({ tags: ['nightly'], status: 'ok', limit: 5 });
 */
export class Flow {
  private constructor(
    readonly store: SyncStore,
    readonly name: string,
  ) {}

  static get(name: string, opts: ClientOptions = {}): Flow {
    return new Flow(openStore(opts), name);
  }

  /** Runs, newest first. */
  async runs(q: FlowRunsQuery = {}): Promise<Run[]> {
    const recs = selectRuns(await listRuns(this.store), {
      flow: this.name,
      tags: q.tags,
      status: q.status,
      user: q.user,
      limit: q.limit,
      namespace: getNamespace(),
      kinds: q.replays ? undefined : ['run', 'resume'],
    });
    return Promise.all(recs.map((r) => Run.open(this.store, r.id)));
  }

  async latestRun(): Promise<Run | undefined> {
    return this.newest({});
  }

  async latestSuccessfulRun(): Promise<Run | undefined> {
    return this.newest({ status: 'ok' });
  }

  /**
   * `runs({ ...q, limit: 1 })[0]` (this flow, the namespace, no replays), found by reading run
   * records newest first: usually one read instead of a listing of every run. After SCAN_LIMIT
   * records of other flows, states or users, the listing (through the run index) takes over.
   */
  private async newest(q: Pick<FlowRunsQuery, 'status'>): Promise<Run | undefined> {
    const query = { flow: this.name, status: q.status, namespace: getNamespace(), kinds: ['run', 'resume'] as const };
    const { ids, total } = newestRunIds(this.store.listRecordsSync('runs'), SCAN_LIMIT);
    for (const id of ids) {
      const rec = readRunRecord(this.store, id);
      if (rec?.flow !== this.name) continue;
      const listed = withTagLog(withLiveness(rec), readTagLog(this.store, id));
      if (selectRuns([listed], query).length) return Run.of(this.store, listed);
    }
    if (total <= SCAN_LIMIT) return undefined;
    return (await this.runs({ ...q, limit: 1 }))[0];
  }
}

/** Run records Flow.latestRun reads one by one before it lists the store's runs instead. */
const SCAN_LIMIT = 32;

let currentNamespace: string | null | undefined;

/**
 * Sets the namespace `Flow.runs()`, `latestRun()` and `latestSuccessfulRun()` list from, as
 * Metaflow's `namespace()`: `user:<name>` for one user's runs, a tag for the runs carrying it,
 * `null` for every run. Returns the namespace set. Runs named by id (`Run.get`) are read in any
 * namespace.
 */
export function namespace(ns: string | null): string | null {
  if (ns !== null && (typeof ns !== 'string' || ns === '')) throw new UsageError('NAMESPACE_INVALID', `${JSON.stringify(ns)} is not a namespace.`, { fix: "Pass 'user:<name>', a tag, or null for all runs." });
  currentNamespace = ns;
  return ns;
}

/** The namespace in effect: the one set with namespace(), else defaultNamespace(). */
export function getNamespace(): string | null {
  return currentNamespace === undefined ? defaultNamespace() : currentNamespace;
}

/** `user:<you>`: FLOW_USER, else your OS account (as flow run records it). */
export function defaultNamespace(): string {
  return userNamespace(currentUser());
}

export { compareTaskIds } from '../metadata/task-ids.js';
export { listRuns, withLiveness } from './list-runs.js';
export { type ClientOptions, mirrorOf, openProjectStore, openStore } from './open-store.js';
