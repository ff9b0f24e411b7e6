import type { FlowGraph, StepNode } from '../graph/types.js';
import type { TaskRecord } from '../metadata/records.js';
import { own } from '../util/own.js';

/**
 * A recorded input of a run that differs from the other run's, and through which a step's
 * artifacts can differ: a parameter or included file the step reads (itself or through an
 * earlier step's artifacts), the step's own code, code outside the steps (helpers, the flow
 * file's module code), the step's environment, the seed; or nothing recorded (`outside`: the
 * step read the clock, the network, a file outside the project).
 */
export type Cause = { kind: 'param'; name: string } | { kind: 'input'; name: string } | { kind: 'code'; step: string } | { kind: 'other-code' } | { kind: 'environment' } | { kind: 'seed' } | { kind: 'outside' };

/** What differs between the two runs as a whole: the candidates for every step's causes. */
export interface RunChanges {
  /** Every parameter name of either run: stored with each task, but inputs of the run, not artifacts. */
  paramNames: ReadonlySet<string>;
  /** Parameters with another value (not @includeFile ones: their content is what counts). */
  params: ReadonlySet<string>;
  /** @includeFile inputs whose content differs. */
  inputs: ReadonlySet<string>;
  seed: boolean;
  /** Whether the code packages differ at all. */
  code: boolean;
  /** Code outside the step methods differs: other files, or the flow file's module code (helpers, constants). */
  otherCode: boolean;
  /** Steps whose environment (lock, Node, flowrun) differs. */
  environment: (step: string) => boolean;
}

export interface Side {
  graph?: FlowGraph;
  tasks: ReadonlyMap<string, TaskRecord>;
}

const ORDER: Record<Cause['kind'], number> = { param: 0, input: 1, code: 2, 'other-code': 3, environment: 4, seed: 5, outside: 6 };

/**
 * Explains why a task's artifacts differ, following what it read back to the run inputs that
 * differ. Pure over the two runs' records and graphs (read from their code packages); a step
 * whose reads cannot be known (no graph, `this` escapes, a join) counts as reading everything.
 * The seed is a cause only when nothing else the task (or its inputs) depends on differs: the
 * graph cannot tell whether a step draws from Math.random.
 */
export class Explainer {
  private readonly memo = new Map<string, Map<string, Cause>>();

  constructor(
    private readonly a: Side,
    private readonly b: Side,
    private readonly changes: RunChanges,
  ) {}

  /** The causes of the differences of task `step/id` (present in both runs), sorted. */
  causes(step: string, id: string): Cause[] {
    return sortCauses([...this.taskRoots(`${step}/${id}`, new Set()).values()]);
  }

  /** Why a task computed differently: what it reads that differs, followed back to run inputs. */
  private taskRoots(path: string, visiting: Set<string>): Map<string, Cause> {
    const cached = this.memo.get(path);
    if (cached) return cached;
    const out = new Map<string, Cause>();
    const x = this.a.tasks.get(path);
    const y = this.b.tasks.get(path);
    if (!x || !y || visiting.has(path)) return out;
    visiting.add(path);
    const step = y.step;
    const reads = this.readsOf(step);
    // A join reads its inputs' artifacts through `inputs` whatever its body says of `this`;
    // parameters it reads only through `this`.
    const join = [node(this.a.graph, step), node(this.b.graph, step)].some((s) => s?.takesInputs);
    const add = (c: Cause) => out.set(key(c), c);
    for (const p of this.changes.params) if (reads(p)) add({ kind: 'param', name: p });
    for (const i of this.changes.inputs) if (reads(i)) add({ kind: 'input', name: i });
    const [na, nb] = [node(this.a.graph, step), node(this.b.graph, step)];
    if (na?.source !== undefined && nb?.source !== undefined && na.source !== nb.source) add({ kind: 'code', step });
    else if (this.changes.otherCode || (this.changes.code && (!na?.source || !nb?.source))) add({ kind: 'other-code' });
    if (this.changes.environment(step)) add({ kind: 'environment' });
    for (const [parent, name] of this.differingReads(x, y, join ? () => true : reads)) {
      for (const [k, c] of this.artifactRoots(parent, name, visiting)) out.set(k, c);
    }
    if (out.size === 0) add(this.changes.seed ? { kind: 'seed' } : { kind: 'outside' });
    visiting.delete(path);
    this.memo.set(path, out);
    return out;
  }

  /**
   * Why an artifact of a task differs: where it was set. A task that passed it on unchanged
   * from a parent (in both runs) sends the question up to that parent; the task that set it
   * answers with its own causes.
   */
  private artifactRoots(path: string, name: string, visiting: Set<string>): Map<string, Cause> {
    const x = this.a.tasks.get(path);
    const y = this.b.tasks.get(path);
    if (!x || !y) return this.taskRoots(path, visiting);
    const from = (t: TaskRecord, side: Side) => t.parents.find((p) => own(side.tasks.get(p)?.artifacts, name)?.hash === own(t.artifacts, name)?.hash && own(t.artifacts, name) !== undefined);
    const [pa, pb] = [from(x, this.a), from(y, this.b)];
    return pa !== undefined && pa === pb ? this.artifactRoots(pb, name, visiting) : this.taskRoots(path, visiting);
  }

  /** The (parent task, artifact) pairs this task reads that differ between the runs. */
  private differingReads(x: TaskRecord, y: TaskRecord, reads: (name: string) => boolean): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    const n = Math.max(x.parents.length, y.parents.length);
    for (let i = 0; i < n; i++) {
      const [pa, pb] = [x.parents[i], y.parents[i]];
      if (pb === undefined) continue;
      const [ta, tb] = [pa === undefined ? undefined : this.a.tasks.get(pa), this.b.tasks.get(pb)];
      if (!tb) continue;
      const names = new Set([...Object.keys(ta?.artifacts ?? {}), ...Object.keys(tb.artifacts)]);
      // A foreach task reads its item of the parent's split artifact as this.input / this.index.
      const split = tb.next?.foreach;
      for (const name of names) {
        if (this.changes.paramNames.has(name)) continue;
        const differs = pa !== pb || own(ta?.artifacts, name)?.hash !== own(tb.artifacts, name)?.hash;
        if (differs && (reads(name) || (name === split && (reads('input') || reads('index'))))) out.push([pb, name]);
      }
    }
    return out;
  }

  /** What the step reads of `this` in either run's code (everything when that cannot be known). */
  private readsOf(step: string): (name: string) => boolean {
    const nodes = [node(this.a.graph, step), node(this.b.graph, step)];
    if (nodes.some((s) => !s || s.readsAll || s.reads === undefined)) return () => true;
    const names = new Set(nodes.flatMap((s) => s!.reads ?? []));
    return (name) => names.has(name);
  }
}

/** Causes in a stable order: params, inputs, code, environment, seed, outside. */
export function sortCauses(causes: Cause[]): Cause[] {
  return causes.sort((x, y) => ORDER[x.kind] - ORDER[y.kind] || key(x).localeCompare(key(y)));
}

function node(graph: FlowGraph | undefined, step: string): StepNode | undefined {
  return graph?.steps.find((s) => s.name === step);
}

function key(c: Cause): string {
  return c.kind === 'param' || c.kind === 'input' ? `${c.kind}:${c.name}` : c.kind === 'code' ? `code:${c.step}` : c.kind;
}

/** A step's causes in a few words: `params alpha, seed`. */
export function describeCauses(causes: readonly Cause[]): string {
  const params = causes.filter((c): c is { kind: 'param'; name: string } => c.kind === 'param').map((c) => c.name);
  const inputs = causes.filter((c): c is { kind: 'input'; name: string } => c.kind === 'input').map((c) => c.name);
  const parts: string[] = [];
  if (params.length) parts.push(`param${params.length > 1 ? 's' : ''} ${params.join(', ')}`);
  if (inputs.length) parts.push(`included file${inputs.length > 1 ? 's' : ''} ${inputs.join(', ')}`);
  const codeSteps = causes.filter((c): c is { kind: 'code'; step: string } => c.kind === 'code').map((c) => c.step);
  if (codeSteps.length) parts.push(`code of ${codeSteps.join(', ')}`);
  if (causes.some((c) => c.kind === 'other-code')) parts.push('code outside the steps');
  if (causes.some((c) => c.kind === 'environment')) parts.push('environment');
  if (causes.some((c) => c.kind === 'seed')) parts.push('seed');
  if (causes.some((c) => c.kind === 'outside')) parts.push('nothing recorded (the step read something outside its inputs: the clock, the network, a file)');
  return parts.join('; ');
}
