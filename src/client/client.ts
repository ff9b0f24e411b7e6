import { join } from 'node:path';
import { openMirror } from '../mirror/mirror.js';
import { NotFoundError } from '../errors/index.js';
import { type RunRecord, type TaskRecord, runRecordPath, taskRecordPath } from '../metadata/records.js';
import type { LocalStore } from '../store/local.js';
import { checkRunRecord, checkTaskRecord } from '../metadata/record-check.js';
import { listRuns } from './list-runs.js';
import { type ClientOptions, mirrorOf, openStore } from './open-store.js';
import { loadArtifact } from '../task/artifacts.js';
import { withLiveness } from '../metadata/liveness.js';
import { closest } from '../util/suggest.js';
import { compareTaskIds } from '../metadata/task-ids.js';
import { own } from '../util/own.js';

/** A run record, checked for shape (undefined when absent). */
function readRunRecord(store: LocalStore, id: string): RunRecord | undefined {
  const path = runRecordPath(id);
  const rec = store.readRecordSync<unknown>(path);
  return rec === undefined ? undefined : checkRunRecord(rec, join(store.root, path));
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
  private constructor(readonly store: LocalStore, readonly record: RunRecord) {}

  static async get(id: string, opts: ClientOptions = {}): Promise<Run> {
    return Run.open(openStore(opts), id);
  }

  /** A run from a record already read (and checked) from `store`. */
  static of(store: LocalStore, record: RunRecord): Run {
    return new Run(store, withLiveness(record));
  }

  static async open(store: LocalStore, id: string): Promise<Run> {
    let rec = /^run-\d+$/.test(id) ? readRunRecord(store, id) : undefined;
    const mirror = mirrorOf(store);
    if (!rec && mirror) {
      // Not here: fetch it from the mirror (verified object by object), then read it locally.
      const { pullRun } = await import('../mirror/pull.js');
      await pullRun(await openMirror(mirror), store, id);
      rec = readRunRecord(store, id);
    }
    if (!rec) {
      const ids = (await store.listRecords('runs'));
      const guess = closest(id, ids);
      throw new NotFoundError('RUN_NOT_FOUND', `There is no run ${id} in the store ${store.location}.`, {
        fix: guess ? `Did you mean ${guess}? (flow runs lists them)` : 'flow runs lists the runs in this store.',
      });
    }
    return new Run(store, withLiveness(rec));
  }

  get id(): string { return this.record.id; }
  get flow(): string { return this.record.flow; }
  get status(): RunRecord['status'] { return this.record.status; }
  get params(): RunRecord['params'] { return this.record.params; }
  get successful(): boolean { return this.record.status === 'ok'; }

  /** Steps in topological order. */
  steps(): Step[] {
    return this.record.steps.map((s) => new Step(this, s.name));
  }

  step(name: string): Step {
    if (!this.record.steps.some((s) => s.name === name)) {
      const guess = closest(name, this.record.steps.map((s) => s.name));
      throw new NotFoundError('STEP_NOT_FOUND', `Run ${this.id} has no step ${name}.`, { step: name, fix: guess ? `Did you mean ${guess}?` : `Steps: ${this.record.steps.map((s) => s.name).join(', ')}.` });
    }
    return new Step(this, name);
  }

  /**
   * An artifact's value as the run left it: from the end step, or else from the last step (in
   * topological order) whose first task set it.
   */
  async artifact(name: string): Promise<unknown> {
    return (await this.artifactTask(name)).artifact(name);
  }

  /** The task `artifact(name)` reads from. */
  async artifactTask(name: string): Promise<Task> {
    const seen = new Set<string>();
    for (const step of [...this.steps()].reverse()) {
      const tasks = await step.tasks();
      for (const t of tasks) Object.keys(t.record.artifacts).forEach((a) => seen.add(a));
      const holder = tasks.find((t) => Object.hasOwn(t.record.artifacts, name));
      if (holder) return holder;
    }
    const guess = closest(name, seen);
    throw new NotFoundError('ARTIFACT_NOT_FOUND', `Run ${this.id} has no artifact ${name}.`, { artifact: name, fix: guess ? `Did you mean ${guess}?` : `Artifacts: ${[...seen].sort().join(', ') || '(none)'}.` });
  }
}

export class Step {
  constructor(readonly run: Run, readonly name: string) {}

  /** This step's tasks, in task-id order (split order for a foreach). */
  async tasks(): Promise<Task[]> {
    const names = await this.run.store.listRecords(`runs/${this.run.id}/tasks/${this.name}`);
    const ids = names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5));
    ids.sort(compareTaskIds);
    return ids.map((id) => this.taskById(id)!);
  }

  task(id: string): Task {
    const t = this.taskById(id);
    if (!t) throw new NotFoundError('TASK_NOT_FOUND', `Step ${this.name} of ${this.run.id} has no task ${id}.`, { step: this.name, fix: `flow inspect ${this.run.id} lists its tasks.` });
    return t;
  }

  private taskById(id: string): Task | undefined {
    if (!/^\d+(\.\d+)*$/.test(id)) return undefined;
    const path = taskRecordPath(this.run.id, this.name, id);
    const rec = this.run.store.readRecordSync<unknown>(path);
    return rec === undefined ? undefined : new Task(this.run.store, checkTaskRecord(rec, join(this.run.store.root, path)));
  }
}

export class Task {
  constructor(readonly store: LocalStore, readonly record: TaskRecord) {}

  get id(): string { return this.record.id; }
  get step(): string { return this.record.step; }
  get status(): TaskRecord['status'] { return this.record.status; }
  get pathspec(): string { return `${this.record.run}/${this.record.step}/${this.record.id}`; }

  artifactNames(): string[] {
    return Object.keys(this.record.artifacts).sort();
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
        step: this.step, fix: `Its attempts: ${attempts.map((a) => a.attempt).join(', ') || '(none)'}${kept.length ? '' : ` (logs kept for ${last} only)`}; omit --attempt for the last.`,
      });
    }
    return {
      attempt: n,
      stdout: this.store.getObjectSync(refs.stdout).toString('utf8'),
      stderr: this.store.getObjectSync(refs.stderr).toString('utf8'),
    };
  }
}

/** A flow's runs in a store. */
export class Flow {
  private constructor(readonly store: LocalStore, readonly name: string) {}

  static get(name: string, opts: ClientOptions = {}): Flow {
    return new Flow(openStore(opts), name);
  }

  /** This flow's runs, newest first. */
  async runs(): Promise<Run[]> {
    return (await listRuns(this.store)).filter((r) => r.flow === this.name).map((r) => Run.of(this.store, r));
  }

  async latestRun(): Promise<Run | undefined> {
    return this.newest(() => true);
  }

  async latestSuccessfulRun(): Promise<Run | undefined> {
    return this.newest((r) => r.status === 'ok');
  }

  /**
   * The newest run of this flow that `accept`s (after liveness), as `runs().find(accept)` gives
   * it, found by reading run records newest first: usually one read instead of a listing of every
   * run. After SCAN_LIMIT records of other flows or states, the listing (through the run index)
   * takes over.
   */
  private async newest(accept: (r: RunRecord) => boolean): Promise<Run | undefined> {
    const ids = this.store.listRecordsSync('runs').filter((n) => /^run-\d+$/.test(n)).sort((a, b) => Number(b.slice(4)) - Number(a.slice(4)));
    for (const id of ids.slice(0, SCAN_LIMIT)) {
      const rec = readRunRecord(this.store, id);
      if (rec?.flow !== this.name) continue;
      const run = Run.of(this.store, rec);
      if (accept(run.record)) return run;
    }
    if (ids.length <= SCAN_LIMIT) return undefined;
    return (await this.runs()).find((r) => accept(r.record));
  }
}

/** Run records Flow.latestRun reads one by one before it lists the store's runs instead. */
const SCAN_LIMIT = 32;

export { compareTaskIds } from '../metadata/task-ids.js';
export { listRuns, withLiveness } from './list-runs.js';
export { type ClientOptions, mirrorOf, openProjectStore, openStore } from './open-store.js';
