import { type ErrorCode, GraphError, UsageError, type FlowError } from '../errors/index.js';
import { closest } from '../util/suggest.js';
import { RESERVED_NAMES, RUN_FLAGS, kebab, reservedWhy } from '../metadata/names.js';
import { reachable, splitStackOut, splitStacks } from './structure.js';
import { type FlowGraph, type StepNode, stepMap } from './types.js';

type Rule = (g: FlowGraph, steps: Map<string, StepNode>) => FlowError[];

/**
 * Every structural check, one function each, in the order they are reported. Each is pure
 * over the graph and returns the problems it found (Metaflow's lint.py, as data).
 */
export const RULES: readonly Rule[] = [checkStepNames, checkStartEnd, checkTransitions, checkCycles, checkReachable, checkSplitJoin, checkForeachField, checkArtifactNames, checkParams];

export function validateGraph(graph: FlowGraph): FlowError[] {
  const steps = stepMap(graph);
  return RULES.flatMap((rule) => rule(graph, steps));
}

function err(g: FlowGraph, code: ErrorCode, message: string, line: number | undefined, step: string | undefined, fix: string): GraphError {
  return new GraphError(code, message, { file: g.file, line, step, fix });
}

function checkStepNames(g: FlowGraph): FlowError[] {
  const out: FlowError[] = [];
  const seen = new Map<string, StepNode>();
  for (const s of g.steps) {
    const first = seen.get(s.name);
    if (first) out.push(err(g, 'GRAPH_STEP_NAME', `Step ${s.name} is defined twice (lines ${first.line} and ${s.line}).`, s.line, s.name, 'Rename or remove one of them.'));
    seen.set(s.name, s);
    if (!/^[A-Za-z_$][\w$]*$/.test(s.name)) out.push(err(g, 'GRAPH_STEP_NAME', `Step name ${JSON.stringify(s.name)} is not an identifier, so this.next(this.<name>) cannot name it.`, s.line, s.name, 'Name steps with letters, digits and _ (e.g. fit_model).'));
    const why = reservedWhy(s.name);
    if (why) out.push(err(g, 'GRAPH_STEP_NAME', `Step name ${s.name} is ${why}.`, s.line, s.name, `Rename the step (reserved: ${[...RESERVED_NAMES].join(', ')}, and the members of Object.prototype).`));
  }
  return out;
}

function checkStartEnd(g: FlowGraph, steps: Map<string, StepNode>): FlowError[] {
  const out: FlowError[] = [];
  if (!steps.has('start')) out.push(err(g, 'GRAPH_START_END', `Flow ${g.flow} has no start step.`, g.line, undefined, 'Add a method `@step start() { ...; this.next(this.first) }`.'));
  if (!steps.has('end')) out.push(err(g, 'GRAPH_START_END', `Flow ${g.flow} has no end step.`, g.line, undefined, 'Add a method `@step end() {}`.'));
  const end = steps.get('end');
  if (end && end.transitions.length > 0) out.push(err(g, 'GRAPH_START_END', 'The end step calls next(), but end must be the last step.', end.transitions[0]!.line, 'end', 'Remove the next() call from end.'));
  if (end?.takesInputs) out.push(err(g, 'GRAPH_JOIN_ARITY', 'The end step takes inputs, but end cannot be a join.', end.line, 'end', 'Add a join step before end (it takes the inputs and calls this.next(this.end)), and remove the parameter from end().'));
  return out;
}

function checkTransitions(g: FlowGraph, steps: Map<string, StepNode>): FlowError[] {
  const out: FlowError[] = [];
  for (const s of g.steps) {
    if (s.name === 'end' || s.dynamicNext) continue;
    if (s.transitions.length === 0) {
      out.push(err(g, 'GRAPH_MISSING_NEXT', `Step ${s.name} never calls this.next(...), so the flow cannot continue after it.`, s.line, s.name, `End the step with this.next(this.<step>) (or this.next(this.end)).`));
      continue;
    }
    const shape = (t: { targets: string[]; foreach?: string }) => JSON.stringify([t.targets, t.foreach ?? null]);
    const first = s.transitions[0]!;
    for (const t of s.transitions.slice(1)) {
      if (shape(t) !== shape(first)) {
        // Two calls on one line (`if (x) this.next(this.a); else this.next(this.b);`) are told apart by column.
        const where = first.line === t.line ? `line ${t.line}, columns ${first.column} and ${t.column}` : `lines ${first.line} and ${t.line}`;
        out.push(
          err(g, 'GRAPH_CONDITIONAL_NEXT', `Step ${s.name} calls next() with different targets (${describeNext(first)} and ${describeNext(t)}) at ${where}; a flow's graph must be the same on every run.`, t.line, s.name, 'Make every next() call in the step go to the same steps; move the condition into the next step.'),
        );
      }
    }
    for (const t of s.transitions) {
      if (t.targets.length === 0) out.push(err(g, 'GRAPH_MISSING_NEXT', `Step ${s.name} calls next() without a target.`, t.line, s.name, 'Pass the next step: this.next(this.<step>).'));
      if (new Set(t.targets).size !== t.targets.length) out.push(err(g, 'GRAPH_SPLIT_JOIN_BALANCE', `Step ${s.name} names the same target twice in next().`, t.line, s.name, 'List each branch once.'));
      if (t.foreach !== undefined && t.targets.length !== 1) out.push(err(g, 'GRAPH_SPLIT_JOIN_BALANCE', `Step ${s.name} starts a foreach over ${t.foreach} with ${t.targets.length} targets; a foreach goes to exactly one step.`, t.line, s.name, `Write this.next(this.<step>, { foreach: '${t.foreach}' }).`));
      for (const target of t.targets) {
        if (steps.has(target)) continue;
        const method = g.methods?.find((m) => m.name === target);
        if (method) {
          out.push(err(g, 'GRAPH_UNKNOWN_STEP', `Step ${s.name} goes to ${target}, a method of ${g.flow} without the @step decorator, so it is not a step.`, t.line, s.name, `Add @step before ${target}() at line ${method.line}: @step ${target}() { ... }.`));
          continue;
        }
        const guess = closest(target, steps.keys());
        out.push(err(g, 'GRAPH_UNKNOWN_STEP', `Step ${s.name} goes to ${target}, which is not a @step of ${g.flow}.`, t.line, s.name, guess ? `Did you mean this.${guess}?` : `Define @step ${target}() or fix the name.`));
      }
    }
  }
  return out;
}

/** The first cycle found by depth-first search, as a path that ends where it starts. */
export function findCycle(g: FlowGraph, steps: Map<string, StepNode>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): string[] | undefined => {
    state.set(name, 'open');
    path.push(name);
    for (const t of steps.get(name)?.next ?? []) {
      if (!steps.has(t)) continue;
      if (state.get(t) === 'open') return [...path.slice(path.indexOf(t)), t];
      if (!state.has(t)) {
        const c = visit(t);
        if (c) return c;
      }
    }
    path.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const s of g.steps) {
    if (state.has(s.name)) continue;
    const c = visit(s.name);
    if (c) return c;
  }
  return undefined;
}

function checkCycles(g: FlowGraph, steps: Map<string, StepNode>): FlowError[] {
  const cycle = findCycle(g, steps);
  if (!cycle) return [];
  const from = steps.get(cycle[cycle.length - 2]!)!;
  const backEdge = from.transitions.find((t) => t.targets.includes(cycle[cycle.length - 1]!));
  return [err(g, 'GRAPH_CYCLE', `There is a loop in your flow: ${cycle.join('->')}.`, backEdge?.line ?? from.line, from.name, 'Break the loop by fixing the next() transitions; a flow is a DAG.')];
}

function describeNext(t: { targets: string[]; foreach?: string }): string {
  return `next(${t.targets.map((x) => `this.${x}`).join(', ')}${t.foreach !== undefined ? `, { foreach: '${t.foreach}' }` : ''})`;
}

/**
 * Steps reachable from start through every next() call, also a conditional one (reported on
 * its own), or undefined when the way is cut by an error already reported: an unreadable
 * next(), a step without one, or one going to a name that is not a step. With `repair`, the
 * errors that say where the flow was meant to go are followed instead: a misspelled target
 * leads to the step suggested for it, a method missing @step to the steps it names. Steps
 * found unreachable then are really unreachable, not an echo of the first error.
 */
function reachableIfWhole(g: FlowGraph, steps: Map<string, StepNode>, repair = false): Set<string> | undefined {
  if (!steps.has('start') || g.steps.some((s) => s.dynamicNext)) return undefined;
  const seen = new Set<string>();
  const stack = ['start'];
  const targetsOf = (name: string): string[] | undefined => {
    const s = steps.get(name);
    if (s) return s.name === 'end' || s.transitions.length > 0 ? s.transitions.flatMap((t) => t.targets) : undefined;
    if (!repair) return undefined;
    const method = g.methods?.find((m) => m.name === name);
    if (method) return method.next;
    const guess = closest(name, steps.keys());
    return guess ? [guess] : undefined;
  };
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const next = targetsOf(name);
    if (!next) return undefined;
    stack.push(...next);
  }
  for (const name of seen) if (!steps.has(name)) seen.delete(name);
  return seen;
}

function checkReachable(g: FlowGraph, steps: Map<string, StepNode>): FlowError[] {
  const live = reachableIfWhole(g, steps, true);
  if (!live) return [];
  return g.steps.filter((s) => !live.has(s.name)).map((s) => err(g, 'GRAPH_ORPHAN', `Step ${s.name} cannot be reached from start.`, s.line, s.name, `Make an earlier step call this.next(this.${s.name}), or remove the step.`));
}

function checkSplitJoin(g: FlowGraph, steps: Map<string, StepNode>): FlowError[] {
  // Splits and joins are judged on the graph as the first next() of each step draws it: with a
  // conditional next() or a cut path (reported already) they would be judged on a guess.
  const conditional = g.steps.some((s) => new Set(s.transitions.map((t) => JSON.stringify([t.targets, t.foreach ?? null]))).size > 1);
  if (conditional || findCycle(g, steps) || !reachableIfWhole(g, steps)) return [];
  const out: FlowError[] = [];
  const live = reachable(g.steps);
  const stackIn = splitStacks(g);
  const outStack = (name: string): string[] => splitStackOut(steps.get(name)!, stackIn.get(name) ?? []);
  for (const name of g.order) {
    if (!live.has(name)) continue;
    const s = steps.get(name)!;
    const parents = s.in.filter((p) => live.has(p));
    const stacks = parents.map(outStack);
    const inn = stackIn.get(name) ?? [];
    const same = stacks.every((st) => st.join('/') === inn.join('/'));
    if (s.type !== 'join') {
      // End reached from several steps is a split never joined: reported below, at end.
      if (parents.length > 1 && s.name !== 'end') {
        out.push(err(g, 'GRAPH_JOIN_ARITY', `Step ${name} is reached from ${parents.join(', ')}, but it takes no inputs; where branches meet there must be a join.`, s.line, name, `Declare it as a join: @step ${name}(inputs: Inputs<${g.flow}>) { ... }.`));
      }
    } else if (inn.length === 0) {
      out.push(err(g, 'GRAPH_JOIN_ARITY', `Step ${name} takes inputs like a join, but no branch or foreach leads to it.`, s.line, name, `Remove the parameter from ${name}(), or make an earlier step split with this.next(this.a, this.b) or { foreach }.`));
    } else {
      const split = steps.get(inn[inn.length - 1]!)!;
      const expected = split.type === 'foreach' ? 1 : new Set(split.next).size;
      if (!same || parents.length !== expected) {
        out.push(
          err(
            g,
            'GRAPH_SPLIT_JOIN_BALANCE',
            `Join ${name} is reached from ${parents.join(', ')}, but it should close the ${split.type} at step ${split.name}, which has ${expected} path(s) (${split.type === 'foreach' ? split.next.join(', ') : split.next.join(', ')}).`,
            s.line,
            name,
            `Make every path that starts at ${split.name} end in ${name}, and nothing else.`,
          ),
        );
      }
      if (s.next.length > 1 || s.foreach !== undefined) {
        out.push(err(g, 'GRAPH_SPLIT_JOIN_BALANCE', `Step ${name} both joins and splits.`, s.line, name, 'Add a new step so that the join and the split are separate steps.'));
      }
    }
    // A join already reported as taking no inputs leaves its split open: end would only echo that.
    if (s.type === 'end' && inn.length > 0 && !out.some((e) => e.code === 'GRAPH_JOIN_ARITY')) out.push(unjoinedAtEnd(g, steps, s, inn[inn.length - 1]!));
  }
  return out;
}

/**
 * A split still open at end. When a step after the split's own targets leads to end, it is most
 * likely the join that was written without `inputs` (a foreach's join has a single parent, so
 * nothing else flags it): the error points there.
 */
function unjoinedAtEnd(g: FlowGraph, steps: Map<string, StepNode>, end: StepNode, splitName: string): FlowError {
  const split = steps.get(splitName)!;
  const what = split.type === 'foreach' ? 'foreach' : 'branch';
  const before = end.in.length === 1 ? steps.get(end.in[0]!) : undefined;
  if (before && !before.takesInputs && before.name !== split.name && !split.next.includes(before.name)) {
    return err(
      g,
      'GRAPH_JOIN_ARITY',
      `Step ${before.name} leads to end while the ${what} started at step ${split.name} is still open, and it takes no inputs; if ${before.name} is meant to close the ${what}, it must be a join.`,
      before.line,
      before.name,
      `Declare it as a join: @step ${before.name}(inputs: Inputs<${g.flow}>) { ... }; or add a join step between ${before.name} and end.`,
    );
  }
  return err(g, 'GRAPH_SPLIT_JOIN_BALANCE', `Step end is reached before the ${what} at step ${split.name} was joined.`, end.line, 'end', `Add a join step (taking inputs) before end to close the ${what} at ${split.name}.`);
}

/** Steps from which `name` can be reached (its ancestors). */
function ancestors(name: string, steps: Map<string, StepNode>): Set<string> {
  const seen = new Set<string>();
  const stack = [...(steps.get(name)?.in ?? [])];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...(steps.get(n)?.in ?? []));
  }
  return seen;
}

function checkForeachField(g: FlowGraph, steps: Map<string, StepNode>): FlowError[] {
  const params = new Set(g.params.map((p) => p.name));
  const assignedBefore = (s: StepNode, field: string) => [...ancestors(s.name, steps)].some((a) => steps.get(a)?.assigns.includes(field));
  return g.steps
    .filter((s) => s.foreach !== undefined && !s.assigns.includes(s.foreach) && !params.has(s.foreach) && !assignedBefore(s, s.foreach))
    .map((s) => err(g, 'GRAPH_FOREACH_FIELD', `Step ${s.name} starts a foreach over ${s.foreach}, but neither it nor an earlier step assigns this.${s.foreach}.`, s.transitions[0]?.line ?? s.line, s.name, `Assign the list in ${s.name} (this.${s.foreach} = [...]) before calling next().`));
}

function checkArtifactNames(g: FlowGraph, steps: Map<string, StepNode>): FlowError[] {
  const out: FlowError[] = [];
  for (const s of g.steps) {
    for (const a of s.assigns) {
      const why = reservedWhy(a);
      if (why) out.push(new GraphError('ARTIFACT_RESERVED_NAME', `Step ${s.name} assigns this.${a}, a name ${why}.`, { file: g.file, line: s.line, step: s.name, artifact: a, fix: `Rename the artifact (reserved: ${[...RESERVED_NAMES].join(', ')}, and the members of Object.prototype).` }));
      else if (steps.has(a)) out.push(new GraphError('ARTIFACT_RESERVED_NAME', `Step ${s.name} assigns this.${a}, which is the name of a step.`, { file: g.file, line: s.line, step: s.name, artifact: a, fix: 'Rename the artifact.' }));
    }
  }
  return out;
}

function checkParams(g: FlowGraph, steps: Map<string, StepNode>): FlowError[] {
  const out: FlowError[] = [];
  const seen = new Set<string>();
  for (const p of g.params) {
    const clash = (what: string) => new UsageError('PARAM_NAME_CLASH', `Parameter ${p.name} clashes with ${what}.`, { file: g.file, line: p.line, param: p.name, fix: 'Rename the parameter.' });
    if (seen.has(p.name)) out.push(clash('another parameter of the same name'));
    seen.add(p.name);
    if (RUN_FLAGS.has(p.name) || RUN_FLAGS.has(kebab(p.name))) out.push(clash(`the built-in flag --${kebab(p.name)} of flow run`));
    else if (reservedWhy(p.name)) out.push(clash(`a name ${reservedWhy(p.name)!}`));
    if (steps.has(p.name)) out.push(clash(`the step ${p.name}`));
  }
  return out;
}
