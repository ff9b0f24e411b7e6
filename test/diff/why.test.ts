import { describe, expect, it } from 'vitest';
import { type Cause, type RunChanges, Explainer, describeCauses, sortCauses } from '../../src/diff/why.js';
import { extractGraph } from '../../src/graph/extract.js';
import type { FlowGraph } from '../../src/graph/types.js';
import type { TaskRecord } from '../../src/metadata/records.js';

// The Explainer follows what a task read back to the run inputs that differ; `flow diff` reaches
// it only through two spawned runs. Here: two runs' records in memory, the graph from a source.

const SOURCE = `
import { FlowSpec, step, param, type Inputs } from 'flowrun';
export default class W extends FlowSpec {
  @param() alpha = 1;
  @param() beta = 1;
  @step start() { this.a = this.alpha; this.items = [1, 2]; this.next(this.pass); }
  @step pass() { this.b = this.beta; this.next(this.use); }
  @step use() { this.d = this.a + 1; this.next(this.each, { foreach: 'items' }); }
  @step each() { this.e = this.input; this.next(this.join); }
  @step join(inputs: Inputs<W>) { this.f = inputs.length; this.next(this.end); }
  @step end() {}
}`;

function graph(text = SOURCE): FlowGraph {
  const { graph, errors } = extractGraph('w.ts', text);
  if (!graph) throw new Error(errors.map((e) => e.message).join('; '));
  return graph;
}

type Arts = Record<string, string>;
function task(step: string, id: string, parents: string[], artifacts: Arts, next?: TaskRecord['next']): TaskRecord {
  return {
    schema: 'flowrun.task/1',
    run: 'r',
    step,
    id,
    stack: [],
    parents,
    status: 'ok',
    attempts: [],
    artifacts: Object.fromEntries(Object.entries(artifacts).map(([k, h]) => [k, { hash: h, size: 1 }])),
    logs: { stdout: '', stderr: '' },
    ...(next ? { next } : {}),
  };
}

/** One run's tasks: start sets a (from alpha), pass sets b (from beta) and passes a on, use reads a. */
function run(o: { a: string; b: string; items?: string; e?: [string, string] }): Map<string, TaskRecord> {
  const base = { alpha: 'alpha', beta: 'beta' };
  const start = { ...base, a: o.a, items: o.items ?? 'items-1' };
  const pass = { ...start, b: o.b };
  const tasks = [
    task('start', '0', [], start),
    task('pass', '0', ['start/0'], pass),
    task('use', '0', ['pass/0'], { ...pass, d: `d(${o.a})` }, { targets: ['each'], foreach: 'items' }),
    task('each', '0', ['use/0'], { ...pass, d: `d(${o.a})`, e: o.e?.[0] ?? 'e0' }),
    task('each', '1', ['use/0'], { ...pass, d: `d(${o.a})`, e: o.e?.[1] ?? 'e1' }),
    task('join', '0', ['each/0', 'each/1'], { ...base, f: 'f' }),
  ];
  return new Map(tasks.map((t) => [`${t.step}/${t.id}`, t]));
}

const changes = (o: Partial<RunChanges> = {}): RunChanges => ({
  paramNames: new Set(['alpha', 'beta']),
  params: new Set(),
  inputs: new Set(),
  seed: false,
  code: false,
  otherCode: false,
  environment: () => false,
  ...o,
});

describe('Explainer', () => {
  it('follows an artifact passed on unchanged back to the task that set it, and only what the step reads', () => {
    const g = graph();
    const x = new Explainer({ graph: g, tasks: run({ a: 'a1', b: 'b1' }) }, { graph: g, tasks: run({ a: 'a2', b: 'b2' }) }, changes({ params: new Set(['alpha', 'beta']) }));
    // use reads a (passed on by pass, set by start from alpha), not b: beta is no cause of it.
    expect(x.causes('use', '0')).toEqual([{ kind: 'param', name: 'alpha' }]);
    expect(x.causes('pass', '0')).toEqual([{ kind: 'param', name: 'beta' }]);
    expect(x.causes('start', '0')).toEqual([{ kind: 'param', name: 'alpha' }]);
  });

  it('a foreach task reads its item of the split artifact through this.input', () => {
    const g = graph();
    const x = new Explainer({ graph: g, tasks: run({ a: 'a', b: 'b', items: 'items-1', e: ['e0', 'e1'] }) }, { graph: g, tasks: run({ a: 'a', b: 'b', items: 'items-2', e: ['e0', 'e9'] }) }, changes({ seed: true }));
    // start read nothing that differs: its items changed by the seed; each/1 read its item of them.
    expect(x.causes('each', '1')).toEqual([{ kind: 'seed' }]);
  });

  it('a join reads its inputs whatever its body reads of this; nothing recorded differs → outside', () => {
    const g = graph();
    const a = run({ a: 'a', b: 'b', e: ['e0', 'e1'] });
    const b = run({ a: 'a', b: 'b', e: ['e0', 'e1x'] });
    const x = new Explainer({ graph: g, tasks: a }, { graph: g, tasks: b }, changes());
    // each/1 computed another e from the same inputs: something outside the records (the clock...).
    expect(x.causes('each', '1')).toEqual([{ kind: 'outside' }]);
    expect(x.causes('join', '0')).toEqual([{ kind: 'outside' }]);
  });

  it('a step whose source changed is a code cause; other code, environment are causes of every step they touch', () => {
    const changed = graph(SOURCE.replace('this.d = this.a + 1', 'this.d = this.a + 2'));
    const tasks = run({ a: 'a', b: 'b' });
    const x = new Explainer({ graph: graph(), tasks }, { graph: changed, tasks }, changes({ code: true, environment: (s) => s === 'use' }));
    expect(x.causes('use', '0')).toEqual([{ kind: 'code', step: 'use' }, { kind: 'environment' }]);
    const y = new Explainer({ graph: graph(), tasks }, { graph: graph(), tasks }, changes({ code: true, otherCode: true }));
    expect(x.causes('start', '0')).toEqual([{ kind: 'outside' }]);
    expect(y.causes('start', '0')).toEqual([{ kind: 'other-code' }]);
  });

  it('without a graph a step counts as reading everything', () => {
    const tasks = [run({ a: 'a1', b: 'b1' }), run({ a: 'a2', b: 'b2' })] as const;
    const x = new Explainer({ tasks: tasks[0] }, { tasks: tasks[1] }, changes({ params: new Set(['alpha', 'beta']) }));
    expect(x.causes('use', '0')).toEqual([
      { kind: 'param', name: 'alpha' },
      { kind: 'param', name: 'beta' },
    ]);
  });
});

describe('sortCauses and describeCauses', () => {
  const all: Cause[] = [{ kind: 'outside' }, { kind: 'seed' }, { kind: 'environment' }, { kind: 'other-code' }, { kind: 'code', step: 'fit' }, { kind: 'input', name: 'data' }, { kind: 'param', name: 'beta' }, { kind: 'param', name: 'alpha' }];

  it('orders params, inputs, code, other code, environment, seed, outside; names within a kind', () => {
    expect(sortCauses([...all]).map((c) => ('name' in c ? `${c.kind}:${c.name}` : c.kind))).toEqual(['param:alpha', 'param:beta', 'input:data', 'code', 'other-code', 'environment', 'seed', 'outside']);
  });

  it('says the causes in a few words', () => {
    expect(describeCauses(sortCauses([...all]))).toBe('params alpha, beta; included file data; code of fit; code outside the steps; environment; seed; nothing recorded (the step read something outside its inputs: the clock, the network, a file)');
    expect(describeCauses([{ kind: 'param', name: 'alpha' }])).toBe('param alpha');
  });
});
