import { splitStacks } from '../graph/structure.js';
import { type FlowGraph, type StepNode, stepMap } from '../graph/types.js';
import { type ArtifactRef, type ForeachFrame, taskIdOf } from '../metadata/records.js';

/** A task that finished ok: what its successors need. */
export interface DoneTask {
  step: string;
  id: string;
  stack: ForeachFrame[];
  artifacts: Record<string, ArtifactRef>;
  next?: { targets: string[]; foreach?: string; count?: number };
  /** Reused from the resume origin rather than run. */
  cloned?: boolean;
}

export interface TaskSpec {
  step: string;
  id: string;
  stack: ForeachFrame[];
  parents: DoneTask[];
  foreach?: { artifact: ArtifactRef; index: number };
}

interface PendingJoin {
  spec: Omit<TaskSpec, 'parents'>;
  expected: number;
  /** Inputs so far, each with its position: split index, or the branch's topological order. */
  arrived: Array<[number, DoneTask]>;
}

/**
 * The scheduler's readiness rules, without effects: which tasks a finished task makes ready. A
 * foreach fans out into one task per item; a linear or branch step's targets get a task each
 * at the same foreach position; a join is ready once every branch it closes (or every split
 * of the foreach it closes) has arrived, and receives its inputs in split (or topological)
 * order whatever order they finished in. The only state is the joins still waiting.
 */
export class Successors {
  private readonly steps: Map<string, StepNode>;
  private readonly openSplits: Map<string, string[]>;
  private readonly order: Map<string, number>;
  private readonly joins = new Map<string, PendingJoin>();

  constructor(graph: FlowGraph) {
    this.steps = stepMap(graph);
    this.openSplits = splitStacks(graph);
    this.order = new Map(graph.order.map((n, i) => [n, i]));
  }

  /** The tasks `done` makes ready, in the order they are to be queued. */
  after(done: DoneTask): TaskSpec[] {
    const node = this.steps.get(done.step)!;
    if (node.type === 'end' || !done.next) return [];
    const ready: TaskSpec[] = [];
    if (node.foreach !== undefined) {
      const count = done.next.count ?? 0;
      const artifact = done.artifacts[node.foreach]!;
      for (let index = 0; index < count; index++) {
        const stack = [...done.stack, { step: node.name, index, count }];
        ready.push({ step: node.next[0]!, id: taskIdOf(stack), stack, parents: [done], foreach: { artifact, index } });
      }
      return ready;
    }
    for (const target of node.next) {
      const t = this.steps.get(target)!;
      if (t.type !== 'join') {
        ready.push({ step: target, id: taskIdOf(done.stack), stack: done.stack, parents: [done] });
        continue;
      }
      const join = this.arrive(target, t, done);
      if (join) ready.push(join);
    }
    return ready;
  }

  /** How many joins wait for more inputs. */
  get waiting(): number {
    return this.joins.size;
  }

  private arrive(target: string, t: StepNode, done: DoneTask): TaskSpec | undefined {
    const split = this.steps.get(this.openSplits.get(target)!.at(-1)!)!;
    const closesForeach = split.foreach !== undefined;
    const stack = closesForeach ? done.stack.slice(0, -1) : done.stack;
    const key = `${target}/${taskIdOf(stack)}`;
    let pending = this.joins.get(key);
    if (!pending) {
      pending = { spec: { step: target, id: taskIdOf(stack), stack }, expected: closesForeach ? done.stack.at(-1)!.count : t.in.length, arrived: [] };
      this.joins.set(key, pending);
    }
    pending.arrived.push([closesForeach ? done.stack.at(-1)!.index : this.order.get(done.step)!, done]);
    if (pending.arrived.length !== pending.expected) return undefined;
    this.joins.delete(key);
    const parents = pending.arrived.sort((a, b) => a[0] - b[0]).map(([, d]) => d);
    return { ...pending.spec, parents };
  }
}
