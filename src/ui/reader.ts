import { Run } from '../client/client.js';
import { compareTaskIds } from '../metadata/task-ids.js';
import { readPackageFiles } from '../package/code-package.js';
import type { FlowGraph } from '../graph/types.js';
import type { TaskRecord } from '../metadata/records.js';
import type { DiskStore } from '../store/types.js';

/** Runs whose task records are kept in memory (the most recently viewed). */
const CACHED_RUNS = 16;
const YIELD_EVERY = 200;

interface RunTasks {
  /** Task records by step, then by id: a record never changes once written, so it is read once. */
  byStep: Map<string, Map<string, TaskRecord>>;
  /** The run had ended when these were read: nothing new can appear. */
  complete: boolean;
}

/**
 * The UI's view of the store, through the client API (Run, Step, Task): it only adds caching.
 * Task records are immutable once written, so a page polled while a run runs reads each new
 * record once; a finished run's records are read once in all.
 */
export class StoreReader {
  private readonly tasks = new Map<string, RunTasks>();
  /** Reads in progress: the run page and its timeline ask at once, and share one read. */
  private readonly reading = new Map<string, Promise<RunTasks>>();
  private readonly graphs = new Map<string, FlowGraph | null>();

  constructor(readonly store: DiskStore) {}

  /** The run as it is now (its record is re-read: a running run's changes). */
  open(id: string): Promise<Run> {
    return Run.open(this.store, id);
  }

  /** Every task record of a run, by step (topological order), each step's in task-id order. */
  async taskRecords(run: Run): Promise<Map<string, TaskRecord[]>> {
    let cached = this.tasks.get(run.id);
    if (!cached?.complete) {
      let read = this.reading.get(run.id);
      if (!read) {
        read = this.readNew(run, cached).finally(() => this.reading.delete(run.id));
        this.reading.set(run.id, read);
      }
      cached = await read;
    }
    const out = new Map<string, TaskRecord[]>();
    for (const [step, byId] of cached.byStep)
      out.set(
        step,
        [...byId.values()].sort((a, b) => compareTaskIds(a.id, b.id)),
      );
    return out;
  }

  /** Reads the task records not read yet (all of them the first time). */
  private async readNew(run: Run, known: RunTasks | undefined): Promise<RunTasks> {
    const ended = run.status !== 'running';
    const cached = known ?? { byStep: new Map(), complete: false };
    let read = 0;
    for (const step of run.steps()) {
      const have = cached.byStep.get(step.name) ?? new Map<string, TaskRecord>();
      cached.byStep.set(step.name, have);
      const names = await this.store.listRecords(`runs/${run.id}/tasks/${step.name}`);
      for (const name of names) {
        const id = name.endsWith('.json') ? name.slice(0, -5) : '';
        if (!id || have.has(id) || !/^\d+(\.\d+)*$/.test(id)) continue;
        have.set(id, step.task(id).record);
        // Reads are synchronous: let other requests (the run's header, another page) through now and then.
        if (++read % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
      }
    }
    cached.complete = ended;
    this.remember(this.tasks, run.id, cached);
    return cached;
  }

  /**
   * The flow's graph as the run's code package has it (read statically from the flow file:
   * nothing is run), or null when the run has no code package or the file does not parse.
   */
  async graph(run: Run): Promise<FlowGraph | null> {
    if (this.graphs.has(run.id)) return this.graphs.get(run.id)!;
    let graph: FlowGraph | null = null;
    const code = run.record.code;
    if (code) {
      try {
        const files = await readPackageFiles(this.store.getObjectSync(code.hash), new Set([run.record.file]));
        const text = files.get(run.record.file);
        if (text !== undefined) {
          const { extractGraph } = await import('../graph/extract.js');
          graph = extractGraph(run.record.file, text).graph ?? null;
        }
      } catch {
        graph = null; // a missing or damaged package: the page draws the DAG from the task records
      }
    }
    this.remember(this.graphs, run.id, graph);
    return graph;
  }

  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    map.set(key, value);
    while (map.size > CACHED_RUNS) map.delete(map.keys().next().value!);
  }
}
