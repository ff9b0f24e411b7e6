import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractGraph } from '../../src/graph/extract.js';
import type { FlowGraph } from '../../src/graph/types.js';
import { type DoneTask, Successors, type TaskSpec } from '../../src/runtime/successors.js';

// The scheduler's readiness rules (what a finished task makes ready: foreach fan-out, joins
// waiting for every input), tested without workers; the graphs are the test flows' own.

function graphOf(name: string): FlowGraph {
  const file = `test/flows/${name}`;
  const { graph, errors } = extractGraph(file, readFileSync(file, 'utf8'));
  if (!graph) throw new Error(errors.map((e) => e.message).join('; '));
  return graph;
}

/** A spec finished ok: its `next` as the graph says (with `count` for a foreach). */
function finish(graph: FlowGraph, spec: Pick<TaskSpec, 'step' | 'id' | 'stack'>, count?: number): DoneTask {
  const node = graph.steps.find((s) => s.name === spec.step)!;
  const artifacts = node.foreach ? { [node.foreach]: { hash: `${spec.step}-${spec.id}-items`, size: 1 } } : {};
  return { ...spec, artifacts, next: { targets: node.next, ...(node.foreach ? { foreach: node.foreach, count } : {}) } };
}

const show = (specs: TaskSpec[]) => specs.map((s) => `${s.step}/${s.id}<${s.parents.map((p) => `${p.step}/${p.id}`).join(',')}`);
const start = { step: 'start', id: '0', stack: [] };

describe('Successors', () => {
  it('a linear step makes its one target ready, at the same position, with it as the parent', () => {
    const g = graphOf('linear.ts');
    const s = new Successors(g);
    expect(show(s.after(finish(g, start)))).toEqual(['double/0<start/0']);
    expect(s.after(finish(g, { step: 'end', id: '0', stack: [] }))).toEqual([]);
    // A task without a transition (a failed next() check is recorded elsewhere) makes nothing ready.
    expect(s.after({ ...start, artifacts: {} })).toEqual([]);
  });

  it('a foreach fans out into one task per item, each with its index, the split artifact and its frame', () => {
    const g = graphOf('foreach-squares.ts');
    const ready = new Successors(g).after(finish(g, start, 3));
    expect(show(ready)).toEqual(['work/0<start/0', 'work/1<start/0', 'work/2<start/0']);
    expect(ready[2]!.stack).toEqual([{ step: 'start', index: 2, count: 3 }]);
    expect(ready[2]!.foreach).toEqual({ artifact: { hash: 'start-0-items', size: 1 }, index: 2 });
  });

  it('the join of a foreach waits for every split and takes them in split order, whatever order they finish in', () => {
    const g = graphOf('foreach-squares.ts');
    const s = new Successors(g);
    const splits = s.after(finish(g, start, 3));
    expect(s.after(finish(g, splits[2]!))).toEqual([]);
    expect(s.after(finish(g, splits[0]!))).toEqual([]);
    expect(s.waiting).toBe(1);
    const join = s.after(finish(g, splits[1]!));
    expect(show(join)).toEqual(['join/0<work/0,work/1,work/2']);
    expect(join[0]!.stack).toEqual([]);
    expect(s.waiting).toBe(0);
  });

  it('a branch makes every target ready; the join takes the branches in topological order', () => {
    const g = graphOf('branch-merge.ts');
    const s = new Successors(g);
    const [a, b] = s.after(finish(g, start));
    expect(show([a!, b!])).toEqual(['a/0<start/0', 'b/0<start/0']);
    expect(s.after(finish(g, b!))).toEqual([]);
    expect(show(s.after(finish(g, a!)))).toEqual(['join/0<a/0,b/0']);
  });

  it('nested foreach: each inner join closes its own row, the outer join the rows', () => {
    const g = graphOf('nested-grid.ts');
    const s = new Successors(g);
    const rows = s.after(finish(g, start, 2));
    const cells = rows.flatMap((r) => s.after(finish(g, r, 3)));
    expect(cells.map((c) => c.id)).toEqual(['0.0', '0.1', '0.2', '1.0', '1.1', '1.2']);
    const joins = cells.reverse().flatMap((c) => s.after(finish(g, c)));
    expect(show(joins)).toEqual(['joinCols/1<inner/1.0,inner/1.1,inner/1.2', 'joinCols/0<inner/0.0,inner/0.1,inner/0.2']);
    expect(joins[0]!.stack).toEqual([{ step: 'start', index: 1, count: 2 }]);
    expect(s.after(finish(g, joins[0]!))).toEqual([]);
    expect(show(s.after(finish(g, joins[1]!)))).toEqual(['joinRows/0<joinCols/0,joinCols/1']);
  });

  it('law: for any split count and finishing order, the join is made ready once, last, with the splits in order', () => {
    const g = graphOf('foreach-squares.ts');
    const order = fc.integer({ min: 1, max: 30 }).chain((n) => fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }));
    fc.assert(
      fc.property(order, (finishOrder) => {
        const s = new Successors(g);
        const splits = s.after(finish(g, start, finishOrder.length));
        const ready = finishOrder.map((i) => s.after(finish(g, splits[i]!)));
        expect(ready.slice(0, -1).every((r) => r.length === 0)).toBe(true);
        expect(ready.at(-1)!.map((j) => j.parents.map((p) => p.id))).toEqual([splits.map((x) => x.id)]);
        expect(s.waiting).toBe(0);
      }),
    );
  });
});
