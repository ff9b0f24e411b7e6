import type { Literal } from '../decorators/types.js';
import type { FlowGraph, StepNode } from '../graph/types.js';
import { type ArtifactRef, type IncludeRecord, type TaskRecord, taskRecordPath } from '../metadata/records.js';
import type { SyncStore } from '../store/types.js';
import type { ReusedTask, TaskHooks, TaskInputs } from '../task/hooks.js';
import type { TaskReads } from '../task/protocol.js';
import { FLOWRUN_VERSION } from '../util/package-info.js';
import type { FlowClosure } from './closure.js';
import { type CacheEntry, ENTRY_SCHEMA, entryObjects } from './entry.js';
import { createLocalEntry, deleteLocalEntry, localCandidates } from './entries.js';
import { RunInputs } from './inputs.js';
import { readPaths, readSetKey, type ReadSet, stepKey, taskKey } from './key.js';

/** Where entries of other machines are looked up (the mirror): candidates per task key, fetched per hit. */
export interface EntrySource {
  /** Sound entries filed under (k0, k1) there; problems go to `warn`. */
  candidates(k0: string, k1: string, warn: (line: string) => void): Promise<CacheEntry[]>;
  /** Copies an entry's objects into the local store, each verified against its hash. */
  fetch(entry: CacheEntry): Promise<void>;
  /** Starts reading the candidates of these step keys (a run's cached steps), so later lookups wait less. */
  prefetch?(k0s: string[], warn: (line: string) => void): void;
}

export interface StepCacheOptions {
  store: SyncStore;
  run: string;
  graph: FlowGraph;
  /** The steps this run caches (settings.ts). */
  steps: ReadonlySet<string>;
  closure: FlowClosure;
  /** The run record's envLocks: each step's environment lock. */
  envLocks: Record<string, string | null>;
  params: Record<string, Literal>;
  includes: Record<string, IncludeRecord>;
  seed: number;
  remote?: EntrySource;
  warn: (line: string) => void;
}

export interface CacheStats {
  /** Tasks of cached steps looked up, and reused from the local store or from the mirror. */
  lookups: number;
  local: number;
  remote: number;
  filled: number;
  /** Time the local lookups took (ms), all of them together (the mirror's waits are not in it). */
  lookupMs: number;
  /** CPU time (user + system) of the local lookups: their cost, whatever else the machine is doing. */
  lookupCpuMs: number;
}

/**
 * The step cache of one run, as task hooks: before a task of a cached step runs, its entries
 * are looked up (here, then on the mirror) and a sound one whose reads hash the same now is
 * reused; after a task ran, what it read and produced is filed as a new entry. A corrupt,
 * forged or stale entry is a miss and a warning, never a wrong hit.
 */
export class StepCache implements TaskHooks {
  readonly stats: CacheStats = { lookups: 0, local: 0, remote: 0, filled: 0, lookupMs: 0, lookupCpuMs: 0 };
  private readonly inputs: RunInputs;
  private readonly stepKeys = new Map<string, string>();
  private readonly nodes: Map<string, StepNode>;
  private readonly clockWarned = new Set<string>();
  private prefetched = false;

  constructor(private readonly o: StepCacheOptions) {
    this.inputs = new RunInputs(o);
    this.nodes = new Map(o.graph.steps.map((s) => [s.name, s]));
  }

  /** The steps this run caches. */
  get steps(): ReadonlySet<string> {
    return this.o.steps;
  }

  /** Where entries of other machines come from (the mirror), if anywhere. */
  get source(): EntrySource | undefined {
    return this.o.remote;
  }

  tracksReads(step: string): boolean {
    return this.o.steps.has(step);
  }

  async beforeTask(task: TaskInputs): Promise<ReusedTask | undefined> {
    if (!this.o.steps.has(task.step)) return undefined;
    this.stats.lookups++;
    try {
      // Timed on its own: the local lookup is synchronous, the mirror's waits on the network.
      const started = performance.now();
      const cpu = process.cpuUsage();
      const local = this.lookupLocal(task);
      const used = process.cpuUsage(cpu);
      this.stats.lookupMs += performance.now() - started;
      this.stats.lookupCpuMs += (used.user + used.system) / 1000;
      return local.hit ?? (this.o.remote ? await this.lookupRemote(task, local.keys) : undefined);
    } catch (e) {
      // The cache only ever saves work: whatever goes wrong in it, the task runs.
      this.o.warn(`step cache: looking up ${task.step}/${task.id} failed: ${(e as Error).message} The task runs.`);
      return undefined;
    }
  }

  private lookupLocal(task: TaskInputs): { keys: { k0: string; k1: string }; hit?: ReusedTask } {
    const keys = this.keys(task);
    for (const found of localCandidates(this.o.store, keys.k1)) {
      if ('problem' in found) {
        this.refuse(`cache/${keys.k1}/${found.k2}.json`, found.problem, keys.k1, found.k2);
        continue;
      }
      const artifacts = this.match(found.entry, task);
      if (!artifacts) continue;
      const stale = this.staleness(found.entry);
      if (stale) {
        this.refuse(`cache/${keys.k1}/${found.k2}.json`, stale, keys.k1, found.k2);
        continue;
      }
      this.stats.local++;
      return { keys, hit: this.reuse(found.entry, artifacts) };
    }
    return { keys };
  }

  private async lookupRemote(task: TaskInputs, keys: { k0: string; k1: string }): Promise<ReusedTask | undefined> {
    // The first miss reads every cached step's bundle at once: one round trip instead of one per step of the DAG.
    if (!this.prefetched) {
      this.prefetched = true;
      this.o.remote!.prefetch?.(
        [...this.o.steps].map((s) => this.stepKeyOf(s)),
        this.o.warn,
      );
    }
    for (const entry of await this.o.remote!.candidates(keys.k0, keys.k1, this.o.warn)) {
      const artifacts = this.match(entry, task);
      if (!artifacts) continue;
      try {
        await this.o.remote!.fetch(entry);
      } catch (e) {
        this.o.warn(`step cache: the mirror's entry for ${task.step}/${task.id} (from ${entry.from}) cannot be used: ${(e as Error).message} The task runs.`);
        continue;
      }
      this.stats.remote++;
      // Filed here too, under this run (whose record now holds the outputs): the next lookup is local.
      const local: CacheEntry = { ...entry, run: this.o.run, created: new Date().toISOString() };
      return { ...this.reuse(entry, artifacts), recorded: () => this.file(local) };
    }
    return undefined;
  }

  afterTask(task: TaskInputs, record: TaskRecord, reads: TaskReads | undefined): (() => void) | undefined {
    if (!this.o.steps.has(task.step) || !reads || record.status !== 'ok' || record.caught) return undefined;
    try {
      return this.fill(task, record, reads);
    } catch (e) {
      this.o.warn(`step cache: ${task.step}/${task.id} could not be filed: ${(e as Error).message}`);
      return undefined;
    }
  }

  private fill(task: TaskInputs, record: TaskRecord, reads: TaskReads): (() => void) | undefined {
    const readSet = this.readSet(task, reads);
    if (!readSet) return undefined;
    const { k0, k1 } = this.keys(task);
    const k2 = readSetKey(readSet);
    const outputs: CacheEntry['outputs'] = {};
    for (const [name, ref] of Object.entries(record.artifacts)) {
      outputs[name] = reads.carried.artifacts.includes(name) ? 'a' : reads.carried.params.includes(name) ? 'p' : ref;
    }
    const entry: CacheEntry = {
      schema: ENTRY_SCHEMA,
      k0,
      k1,
      k2,
      flow: this.o.graph.flow,
      step: task.step,
      task: task.id,
      run: this.o.run,
      from: `${this.o.run}/${task.step}/${task.id}`,
      reads: readSet,
      outputs,
      logs: record.logs,
      durationMs: record.attempts.at(-1)?.durationMs ?? 0,
      created: new Date().toISOString(),
      ...(record.next ? { next: record.next } : {}),
      ...(record.cards?.length ? { cards: record.cards } : {}),
      ...(reads.clock ? { clock: true as const } : {}),
    };
    record.cache = { k0, k1, k2 };
    return () => this.file(entry);
  }

  private file(entry: CacheEntry): void {
    try {
      if (createLocalEntry(this.o.store, entry)) this.stats.filled++;
    } catch (e) {
      // A cache that cannot be written only costs the next run its reuse.
      this.o.warn(`step cache: ${entry.step}/${entry.task} could not be filed: ${(e as Error).message}`);
    }
  }

  private keys(task: TaskInputs): { k0: string; k1: string } {
    const k0 = this.stepKeyOf(task.step);
    const k1 = taskKey(k0, { id: task.id, artifacts: task.inherited && Object.keys(task.inherited), inputs: task.inputs?.map((i) => Object.keys(i)) });
    return { k0, k1 };
  }

  private stepKeyOf(step: string): string {
    let k0 = this.stepKeys.get(step);
    if (!k0) {
      const construction: Record<string, string> = {};
      const names = this.o.closure.constructionParams === 'all' ? this.o.graph.params.map((p) => p.name) : this.o.closure.constructionParams;
      for (const name of names) construction[name] = this.inputs.paramHash(name) ?? 'unset';
      k0 = stepKey({
        flow: this.o.graph.flow,
        step,
        code: this.o.closure.steps.get(step) ?? 'unknown',
        envLock: this.o.envLocks[step] ?? null,
        nodeMajor: process.versions.node.split('.')[0]!,
        flowrunVersion: FLOWRUN_VERSION,
        decorators: this.nodes.get(step)?.decorators ?? [],
        construction,
      });
      this.stepKeys.set(step, k0);
    }
    return k0;
  }

  /** The task's reads with their hashes in this run; undefined when one cannot be known (nothing is filed). */
  private readSet(task: TaskInputs, reads: TaskReads): ReadSet | undefined {
    const paths = [...reads.artifacts.map(readPaths.artifact), ...(reads.inputs ?? []).flatMap((names, i) => names.map((n) => readPaths.input(i, n))), ...reads.params.map(readPaths.param), ...(reads.item ? [readPaths.item] : []), ...(reads.random ? [readPaths.seed] : [])];
    const out: ReadSet = [];
    for (const path of [...new Set(paths)].sort()) {
      const hash = this.inputs.hash(path, task);
      if (hash === undefined) return undefined;
      out.push([path, hash]);
    }
    return out;
  }

  /** The task's artifacts when `entry` applies to it now (every read hashes the same), else undefined. */
  private match(entry: CacheEntry, task: TaskInputs): Record<string, ArtifactRef> | undefined {
    if (entry.step !== task.step || entry.task !== task.id) return undefined;
    for (const [path, hash] of entry.reads) if (this.inputs.hash(path, task) !== hash) return undefined;
    const artifacts: Record<string, ArtifactRef> = {};
    for (const [name, out] of Object.entries(entry.outputs)) {
      const ref = out === 'a' ? (task.inherited && Object.hasOwn(task.inherited, name) ? task.inherited[name] : undefined) : out === 'p' ? this.inputs.paramRef(name, task.step) : out;
      if (!ref) return undefined;
      artifacts[name] = ref;
    }
    return artifacts;
  }

  /**
   * Why a local entry cannot be reused although it matches: its run's task record is gone or
   * disagrees with it (the run was deleted, the entry was forged), or an object it names is gone.
   */
  private staleness(entry: CacheEntry): string | undefined {
    let rec: TaskRecord | undefined;
    try {
      rec = this.o.store.readRecordSync<TaskRecord>(taskRecordPath(entry.run, entry.step, entry.task));
    } catch {
      rec = undefined;
    }
    if (rec?.status !== 'ok') return `the task record ${entry.run}/${entry.step}/${entry.task} it comes from is gone (the run was deleted)`;
    for (const [name, out] of Object.entries(entry.outputs)) {
      if (typeof out === 'object' && (!rec.artifacts || !Object.hasOwn(rec.artifacts, name) || rec.artifacts[name]!.hash !== out.hash)) return `its artifact ${name} is not the one ${entry.run}/${entry.step}/${entry.task} recorded`;
    }
    if (rec.logs?.stdout !== entry.logs.stdout || rec.logs?.stderr !== entry.logs.stderr) return `its logs are not the ones ${entry.run}/${entry.step}/${entry.task} recorded`;
    for (const o of entryObjects(entry)) if (!this.o.store.hasObjectSync(o.hash)) return `its ${o.what} (object ${o.hash}) is missing from the store`;
    return undefined;
  }

  private reuse(entry: CacheEntry, artifacts: Record<string, ArtifactRef>): ReusedTask {
    if (entry.clock && !this.clockWarned.has(entry.step)) {
      this.clockWarned.add(entry.step);
      this.o.warn(`step cache: ${entry.step} is reused from ${entry.from}, which read the clock when it ran: outputs that depend on the time are from then. Run with --no-cache to compute them now.`);
    }
    return {
      artifacts,
      logs: entry.logs,
      cachedFrom: entry.from,
      cache: { k0: entry.k0, k1: entry.k1, k2: entry.k2 },
      ...(entry.next ? { next: entry.next } : {}),
      ...(entry.cards ? { cards: entry.cards } : {}),
    };
  }

  /** A bad local entry: a warning, and it goes (it would only be refused again). */
  private refuse(where: string, why: string, k1: string, k2: string): void {
    this.o.warn(`step cache: the entry ${where} is refused (${why}); the task runs, and the entry was removed.`);
    try {
      deleteLocalEntry(this.o.store, k1, k2);
    } catch {
      /* read-only store: refused again next time */
    }
  }
}
