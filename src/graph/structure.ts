import type { FlowGraph, StepNode, StepType } from './types.js';

/** Fills in the derived fields of a freshly read graph: next, foreach, type, in, order. Pure. */
export function finishGraph(graph: FlowGraph): FlowGraph {
  for (const s of graph.steps) {
    const first = s.transitions[0];
    s.next = first ? [...first.targets] : [];
    if (first?.foreach !== undefined) s.foreach = first.foreach;
    else delete s.foreach;
    s.type = stepType(s);
    s.in = [];
  }
  const byName = new Map(graph.steps.map((s) => [s.name, s]));
  for (const s of graph.steps) {
    for (const t of new Set(s.next)) byName.get(t)?.in.push(s.name);
  }
  graph.order = topologicalOrder(graph.steps);
  return graph;
}

function stepType(s: StepNode): StepType {
  if (s.name === 'end') return 'end';
  if (s.takesInputs) return 'join';
  if (s.foreach !== undefined) return 'foreach';
  if (new Set(s.next).size > 1) return 'branch';
  return 'linear';
}

/** Steps reachable from `start` following known targets. */
export function reachable(steps: readonly StepNode[]): Set<string> {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const seen = new Set<string>();
  const stack = byName.has('start') ? ['start'] : [];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const t of byName.get(name)?.next ?? []) if (byName.has(t)) stack.push(t);
  }
  return seen;
}

/**
 * Kahn's algorithm over the steps reachable from start, ties broken by source order so the
 * order is stable; steps on a cycle or unreachable come last, in source order.
 */
export function topologicalOrder(steps: readonly StepNode[]): string[] {
  const live = reachable(steps);
  const index = new Map(steps.map((s, i) => [s.name, i]));
  const indegree = new Map<string, number>();
  for (const name of live) indegree.set(name, 0);
  for (const s of steps) {
    if (!live.has(s.name)) continue;
    for (const t of new Set(s.next)) if (live.has(t)) indegree.set(t, indegree.get(t)! + 1);
  }
  const ready = [...live].filter((n) => indegree.get(n) === 0);
  const order: string[] = [];
  const byName = new Map(steps.map((s) => [s.name, s]));
  while (ready.length > 0) {
    ready.sort((a, b) => index.get(a)! - index.get(b)!);
    const name = ready.shift()!;
    order.push(name);
    for (const t of new Set(byName.get(name)!.next)) {
      if (!live.has(t)) continue;
      const d = indegree.get(t)! - 1;
      indegree.set(t, d);
      if (d === 0) ready.push(t);
    }
  }
  const placed = new Set(order);
  for (const s of steps)
    if (!placed.has(s.name)) {
      order.push(s.name);
      placed.add(s.name);
    }
  return order;
}

/**
 * For each reachable step, the splits (branch or foreach steps) still open when it starts,
 * innermost last, following its first parent in topological order. A join closes the last
 * one; a split opens one. Assumes an acyclic graph. Pure; validation checks that every
 * parent agrees, and the runtime uses it to know which split each join closes.
 */
export function splitStacks(graph: FlowGraph): Map<string, string[]> {
  const steps = new Map(graph.steps.map((s) => [s.name, s]));
  const live = reachable(graph.steps);
  const stackIn = new Map<string, string[]>();
  for (const name of graph.order) {
    if (!live.has(name)) continue;
    const first = steps.get(name)!.in.find((p) => live.has(p));
    stackIn.set(name, first === undefined ? [] : splitStackOut(steps.get(first)!, stackIn.get(first) ?? []));
  }
  return stackIn;
}

/** The open splits after a step, given those open when it started. */
export function splitStackOut(s: StepNode, stackIn: string[]): string[] {
  const splits = s.foreach !== undefined || new Set(s.next).size > 1;
  const base = s.type === 'join' ? stackIn.slice(0, -1) : stackIn;
  return splits ? [...base, s.name] : base;
}
