import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractGraph } from '../../src/graph/extract.js';
import type { FlowGraph, StepType } from '../../src/graph/types.js';
import { validateGraph } from '../../src/graph/validate.js';

/**
 * Property tests: random valid flows (layered DAGs made of linear chains, 2-3 way static
 * branches closed by joins and foreach fan-outs closed by joins, nested up to depth 3) are
 * rendered to TypeScript source, extracted and validated, and compared with the model
 * they were generated from.
 */

// ---------------------------------------------------------------------------------------------
// the generated model

type Block = { kind: 'linear' } | { kind: 'branch'; arms: Block[][] } | { kind: 'foreach'; body: Block[] };

interface ModelStep {
  name: string;
  type: StepType;
  next: string[];
  foreach?: string;
  async: boolean;
  /** Render next() twice, in both arms of an if/else (same target: allowed). */
  ifElse: boolean;
  /** @retry({ times }) when set. */
  retry?: number;
  /** Assign an ordinary artifact in the body. */
  artifact: boolean;
}

interface Model {
  steps: ModelStep[];
  /** Steps in the order their methods appear in the class. */
  source: string[];
}

const linearArb: fc.Arbitrary<Block> = fc.constant({ kind: 'linear' });

/** A block whose splits nest at most `depth` deep. */
function blockArb(depth: number): fc.Arbitrary<Block> {
  if (depth === 0) return linearArb;
  const seq = seqArb(depth - 1, 2);
  return fc.oneof({ arbitrary: linearArb, weight: 3 }, { arbitrary: fc.array(seq, { minLength: 2, maxLength: 3 }).map((arms): Block => ({ kind: 'branch', arms })), weight: 1 }, { arbitrary: seq.map((body): Block => ({ kind: 'foreach', body })), weight: 1 });
}

function seqArb(depth: number, maxLength: number): fc.Arbitrary<Block[]> {
  return fc.array(blockArb(depth), { minLength: 1, maxLength });
}

interface FlowCase {
  blocks: Block[];
  /** Drives the per-step flavours and the source order. */
  seed: number;
  /** Keep start as the first method (otherwise the methods are shuffled). */
  startFirst: boolean;
}

const flowArb: fc.Arbitrary<FlowCase> = fc.record({
  blocks: seqArb(3, 4),
  seed: fc.integer(),
  startFirst: fc.boolean(),
});

/** mulberry32: a tiny deterministic PRNG so one seed fixes every flavour of a case. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['load', 'clean', 'fit', 'score', 'train', 'eval', 'prep', 'report'];

function buildModel(c: FlowCase): Model {
  const rand = prng(c.seed);
  const steps: ModelStep[] = [];
  let counter = 0;
  const fresh = (prefix: string) => `${prefix}${counter++}`;
  const add = (name: string, type: StepType, next: string[], foreach?: string): string => {
    const s: ModelStep = {
      name,
      type,
      next,
      async: rand() < 0.3,
      ifElse: rand() < 0.2,
      artifact: rand() < 0.5,
    };
    if (foreach !== undefined) s.foreach = foreach;
    if (rand() < 0.15) s.retry = Math.floor(rand() * 5);
    steps.push(s);
    return name;
  };
  /** Emits a sequence that continues at `cont`; returns the name of its first step. */
  const seq = (blocks: Block[], cont: string, head?: string): string => {
    let entry = cont;
    for (let i = blocks.length - 1; i >= 0; i--) entry = block(blocks[i]!, entry, i === 0 ? head : undefined);
    return entry;
  };
  const block = (b: Block, cont: string, head?: string): string => {
    switch (b.kind) {
      case 'linear':
        return add(head ?? fresh(WORDS[Math.floor(rand() * WORDS.length)]!), 'linear', [cont]);
      case 'branch': {
        const join = add(fresh('join'), 'join', [cont]);
        const entries = b.arms.map((arm) => seq(arm, join));
        return add(head ?? fresh('split'), 'branch', entries);
      }
      case 'foreach': {
        const join = add(fresh('gather'), 'join', [cont]);
        const entry = seq(b.body, join);
        const name = head ?? fresh('fan');
        return add(name, 'foreach', [entry], `${name}Items`);
      }
    }
  };
  add('end', 'end', []);
  seq(c.blocks, 'end', 'start');

  // source order: a seeded shuffle, optionally with start pinned first
  const names = steps.map((s) => s.name);
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [names[i], names[j]] = [names[j]!, names[i]!];
  }
  const source = c.startFirst ? ['start', ...names.filter((n) => n !== 'start')] : names;
  return { steps, source };
}

// ---------------------------------------------------------------------------------------------
// rendering

interface Rendered {
  text: string;
  /** step → line of its method name. */
  lines: Map<string, number>;
  /** step → lines of its next() calls. */
  nextLines: Map<string, number[]>;
  /** step → line of its @retry decorator. */
  retryLines: Map<string, number>;
}

function render(model: Model): Rendered {
  const byName = new Map(model.steps.map((s) => [s.name, s]));
  const out: string[] = [`import { FlowSpec, step, retry, type Inputs } from 'flowrun';`, ``, `/** A generated flow. */`, `export default class GenFlow extends FlowSpec {`];
  const lines = new Map<string, number>();
  const nextLines = new Map<string, number[]>();
  const retryLines = new Map<string, number>();
  const push = (line: string): number => out.push(line);
  for (const name of model.source) {
    const s = byName.get(name)!;
    push('');
    if (s.retry !== undefined) retryLines.set(name, push(`  @retry({ times: ${s.retry} })`));
    const params = s.type === 'join' ? 'inputs: Inputs<GenFlow>' : '';
    lines.set(name, push(`  @step ${s.async ? 'async ' : ''}${name}(${params}) {`));
    if (s.type === 'join') push('    this.mergeArtifacts(inputs);');
    if (s.artifact) push(`    this.${name}Value = ${name.length};`);
    if (s.foreach !== undefined) push(`    this.${s.foreach} = [1, 2, 3];`);
    if (s.type !== 'end') {
      const opts = s.foreach !== undefined ? `, { foreach: '${s.foreach}' }` : '';
      const call = `this.next(${s.next.map((t) => `this.${t}`).join(', ')}${opts});`;
      if (s.ifElse) {
        push(`    if (this.index === 0) {`);
        const a = push(`      ${call}`);
        push(`    } else {`);
        const b = push(`      ${call}`);
        push(`    }`);
        nextLines.set(name, [a, b]);
      } else {
        nextLines.set(name, [push(`    ${call}`)]);
      }
    }
    push('  }');
  }
  push('}');
  push('');
  return { text: out.join('\n'), lines, nextLines, retryLines };
}

function extract(r: Rendered): FlowGraph {
  const { graph, errors } = extractGraph('gen/flow.ts', r.text);
  expect(errors.map((e) => `${e.code}: ${e.message}`)).toEqual([]);
  expect(graph).toBeDefined();
  return graph!;
}

function parentsOf(model: Model): Map<string, string[]> {
  const parents = new Map<string, string[]>(model.steps.map((s) => [s.name, []]));
  for (const s of model.steps) for (const t of s.next) parents.get(t)?.push(s.name);
  return parents;
}

// ---------------------------------------------------------------------------------------------

const RUNS = 150;

describe('property: random valid flows', () => {
  it('extract + validate give no errors, the model graph, and a topological order', () => {
    fc.assert(
      fc.property(flowArb, (c) => {
        const model = buildModel(c);
        const r = render(model);
        const graph = extract(r);

        // (a) no errors
        expect(validateGraph(graph).map((e) => `${e.code}: ${e.message}`)).toEqual([]);

        // (b) the extracted graph is the generated one
        expect(graph.flow).toBe('GenFlow');
        expect(graph.doc).toBe('A generated flow.');
        expect(graph.steps.map((s) => s.name)).toEqual(model.source);
        const parents = parentsOf(model);
        for (const m of model.steps) {
          const s = graph.steps.find((x) => x.name === m.name)!;
          expect(
            {
              type: s.type,
              next: s.next,
              foreach: s.foreach,
              async: s.async,
              takesInputs: s.takesInputs,
              line: s.line,
              in: [...s.in].sort(),
              transitions: s.transitions.map((t) => t.line),
              decorators: s.decorators,
            },
            m.name,
          ).toEqual({
            type: m.type,
            next: m.next,
            foreach: m.foreach,
            async: m.async,
            takesInputs: m.type === 'join',
            line: r.lines.get(m.name),
            in: [...parents.get(m.name)!].sort(),
            transitions: r.nextLines.get(m.name) ?? [],
            decorators: m.retry === undefined ? [] : [{ name: 'retry', options: { times: m.retry }, line: r.retryLines.get(m.name) }],
          });
          const expectedAssigns = [...(m.artifact ? [`${m.name}Value`] : []), ...(m.foreach !== undefined ? [m.foreach] : [])];
          expect(s.assigns, m.name).toEqual(expectedAssigns);
          for (const t of s.transitions) {
            expect(t.targets).toEqual(m.next);
            expect(t.foreach).toBe(m.foreach);
          }
        }
        expect(JSON.parse(JSON.stringify(graph))).toEqual(graph);

        // (c) order: every step once, start first, end last, every edge forwards
        expect([...graph.order].sort()).toEqual(model.steps.map((s) => s.name).sort());
        expect(graph.order[0]).toBe('start');
        expect(graph.order[graph.order.length - 1]).toBe('end');
        const pos = new Map(graph.order.map((n, i) => [n, i]));
        for (const m of model.steps) {
          for (const t of m.next) expect(pos.get(m.name)!, `${m.name}->${t}`).toBeLessThan(pos.get(t)!);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('redirecting one edge back to start gives GRAPH_CYCLE naming a real loop through start', () => {
    const mutationArb = fc.record({ flow: flowArb, pick: fc.nat(), target: fc.nat() });
    fc.assert(
      fc.property(mutationArb, ({ flow, pick, target }) => {
        const model = buildModel(flow);
        const candidates = model.steps.filter((s) => s.type !== 'end');
        const victim = candidates[pick % candidates.length]!;
        const k = target % victim.next.length;
        victim.next = victim.next.map((t, i) => (i === k ? 'start' : t));

        const r = render(model);
        const graph = extract(r);
        const errors = validateGraph(graph);
        const cycles = errors.filter((e) => e.code === 'GRAPH_CYCLE');
        expect(
          cycles.map((e) => e.message),
          JSON.stringify(errors.map((e) => e.code)),
        ).toHaveLength(1);
        const e = cycles[0]!;

        const m = /There is a loop in your flow: ([\w>-]+)\./.exec(e.message);
        expect(m, e.message).not.toBeNull();
        const path = m![1]!.split('->');
        expect(path.length).toBeGreaterThanOrEqual(2);
        expect(path[0]).toBe(path[path.length - 1]);
        expect(path).toContain('start');
        const edges = new Set(model.steps.flatMap((s) => s.next.map((t) => `${s.name}->${t}`)));
        for (let i = 0; i + 1 < path.length; i++) expect(edges.has(`${path[i]}->${path[i + 1]}`), `${path[i]}->${path[i + 1]}`).toBe(true);
        expect(path).toContain(victim.name);

        // the reported step owns the back-edge; with start searched first that is the redirected edge
        const from = e.location.step!;
        expect(path[path.length - 2]).toBe(from);
        expect(e.location.line).toBe(r.nextLines.get(from)![0]);
        if (model.source[0] === 'start') expect(from).toBe(victim.name);
      }),
      { numRuns: RUNS },
    );
  });
});
