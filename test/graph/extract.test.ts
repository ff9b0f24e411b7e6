import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DecoratorUse, Literal } from '../../src/decorators/types.js';
import { ExitCode, type FlowError } from '../../src/errors/index.js';
import { extractGraph } from '../../src/graph/extract.js';
import { GRAPH_SCHEMA, type FlowGraph, type ParamNode, type StepType } from '../../src/graph/types.js';
import { validateGraph } from '../../src/graph/validate.js';

// ---------------------------------------------------------------------------------------------
// helpers

const FIXTURES = 'test/fixtures/graph';

interface Loaded {
  file: string;
  text: string;
  graph: FlowGraph;
  errors: FlowError[];
}

/** Extracts a fixture and requires a graph. */
function load(name: string): Loaded {
  const file = `${FIXTURES}/${name}`;
  const text = readFileSync(file, 'utf8');
  const { graph, errors } = extractGraph(file, text);
  if (!graph) throw new Error(`no graph for ${file}: ${errors.map((e) => `${e.code} ${e.message}`).join('; ')}`);
  return { file, text, graph, errors };
}

/** 1-based line of the `nth` line containing `needle` (throws when absent, so tests cannot drift silently). */
function lineOf(text: string, needle: string, nth = 1): number {
  let seen = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.includes(needle) && ++seen === nth) return i + 1;
  }
  throw new Error(`"${needle}" (#${nth}) not found`);
}

interface StepExpect {
  type: StepType;
  next: string[];
  in: string[];
  /** Text on the line that declares the method (resolved with lineOf). */
  at: string;
  foreach?: string;
  doc?: string;
  async?: boolean;
  decorators?: DecoratorUse[];
  assigns?: string[];
}

interface StepShape {
  name: string;
  type: StepType;
  next: string[];
  in: string[];
  line: number;
  foreach: string | undefined;
  doc: string | undefined;
  async: boolean;
  decorators: DecoratorUse[];
}

/** Checks every step of a valid graph: source order, types, edges, lines, docs, decorators. */
function expectSteps(fx: Loaded, order: string[], expected: Record<string, StepExpect>): void {
  expect(fx.errors).toEqual([]);
  expect(validateGraph(fx.graph)).toEqual([]);
  expect(fx.graph.schema).toBe(GRAPH_SCHEMA);
  expect(fx.graph.file).toBe(fx.file);
  expect(fx.graph.steps.map((s) => s.name)).toEqual(Object.keys(expected));
  expect(fx.graph.order).toEqual(order);
  const actual: StepShape[] = fx.graph.steps.map((s) => ({
    name: s.name,
    type: s.type,
    next: s.next,
    in: s.in,
    line: s.line,
    foreach: s.foreach,
    doc: s.doc,
    async: s.async,
    decorators: s.decorators,
  }));
  const wanted: StepShape[] = Object.entries(expected).map(([name, e]) => ({
    name,
    type: e.type,
    next: e.next,
    in: e.in,
    line: lineOf(fx.text, e.at),
    foreach: e.foreach,
    doc: e.doc,
    async: e.async ?? false,
    decorators: e.decorators ?? [],
  }));
  expect(actual).toEqual(wanted);
  for (const [name, e] of Object.entries(expected)) {
    const s = fx.graph.steps.find((x) => x.name === name)!;
    expect(s.takesInputs, `${name}.takesInputs`).toBe(e.type === 'join');
    if (e.assigns) expect(s.assigns, `${name}.assigns`).toEqual(e.assigns);
  }
}

function dec(name: string, options: Record<string, Literal>, line: number): DecoratorUse {
  return { name, options, line };
}

/** Header shared by the inline sources: the class starts on line 3, its body on line 4. */
const HEADER = `import { FlowSpec, step, param, retry, resources, npmBase, type Inputs } from 'flowrun';\n\nexport default class F extends FlowSpec {\n`;

function inline(body: string): { text: string; graph: FlowGraph | undefined; errors: FlowError[] } {
  const text = `${HEADER}${body}\n}\n`;
  const { graph, errors } = extractGraph('inline.ts', text);
  return { text, graph, errors };
}

function only(errors: FlowError[], code: string): FlowError {
  const hits = errors.filter((e) => e.code === code);
  expect(
    hits.map((e) => e.message),
    `exactly one ${code} in ${JSON.stringify(errors.map((e) => e.code))}`,
  ).toHaveLength(1);
  return hits[0]!;
}

const END = `  @step end() {}`;

// ---------------------------------------------------------------------------------------------
// valid flows

describe('extractGraph: valid flows', () => {
  it('linear flow: types, next, in, topological order, lines, async, assigns', () => {
    const fx = load('linear.ts');
    expect(fx.graph.flow).toBe('LinearFlow');
    expect(fx.graph.line).toBe(3);
    expect(fx.graph.doc).toBeUndefined();
    expect(fx.graph.params).toEqual([]);
    expect(fx.graph.decorators).toEqual([]);
    expectSteps(fx, ['start', 'a', 'b', 'end'], {
      start: { type: 'linear', next: ['a'], in: [], at: '@step start()', assigns: ['x'] },
      a: { type: 'linear', next: ['b'], in: ['start'], at: '@step a()', assigns: ['y', 'x'] },
      b: { type: 'linear', next: ['end'], in: ['a'], at: '@step async b()', async: true, assigns: [] },
      end: { type: 'end', next: [], in: ['b'], at: '@step end()', assigns: [] },
    });
    // hard-coded lines as a sanity check of lineOf itself
    expect(fx.graph.steps.map((s) => s.line)).toEqual([7, 12, 18, 22]);
    const start = fx.graph.steps[0]!;
    expect(start.transitions).toEqual([{ targets: ['a'], line: 9, column: 5 }]);
  });

  it('static branch closed by a join', () => {
    const fx = load('branch.ts');
    expectSteps(fx, ['start', 'a', 'b', 'join', 'end'], {
      start: { type: 'branch', next: ['a', 'b'], in: [], at: '@step start()' },
      a: { type: 'linear', next: ['join'], in: ['start'], at: '@step a()', assigns: ['left'] },
      b: { type: 'linear', next: ['join'], in: ['start'], at: '@step b()', assigns: ['right'] },
      join: { type: 'join', next: ['end'], in: ['a', 'b'], at: '@step join(', assigns: [] },
      end: { type: 'end', next: [], in: ['join'], at: '@step end()' },
    });
  });

  it('nested branch (a 3-way split inside a 2-way split)', () => {
    const fx = load('nested-branch.ts');
    expectSteps(fx, ['start', 'a', 'a1', 'a2', 'a3', 'innerJoin', 'b', 'outerJoin', 'end'], {
      start: { type: 'branch', next: ['a', 'b'], in: [], at: '@step start()' },
      a: { type: 'branch', next: ['a1', 'a2', 'a3'], in: ['start'], at: '@step a()' },
      a1: { type: 'linear', next: ['innerJoin'], in: ['a'], at: '@step a1()' },
      a2: { type: 'linear', next: ['innerJoin'], in: ['a'], at: '@step a2()' },
      a3: { type: 'linear', next: ['innerJoin'], in: ['a'], at: '@step a3()' },
      innerJoin: { type: 'join', next: ['outerJoin'], in: ['a1', 'a2', 'a3'], at: '@step innerJoin(' },
      b: { type: 'linear', next: ['outerJoin'], in: ['start'], at: '@step b()' },
      outerJoin: { type: 'join', next: ['end'], in: ['innerJoin', 'b'], at: '@step outerJoin(' },
      end: { type: 'end', next: [], in: ['outerJoin'], at: '@step end()' },
    });
  });

  it('foreach fan-out and join', () => {
    const fx = load('foreach.ts');
    expectSteps(fx, ['start', 'work', 'collect', 'end'], {
      start: { type: 'foreach', next: ['work'], foreach: 'items', in: [], at: '@step start()', assigns: ['items'] },
      work: { type: 'linear', next: ['collect'], in: ['start'], at: '@step async work()', async: true, assigns: ['upper'] },
      collect: { type: 'join', next: ['end'], in: ['work'], at: '@step collect(', assigns: ['all'] },
      end: { type: 'end', next: [], in: ['collect'], at: '@step end()' },
    });
    const start = fx.graph.steps[0]!;
    expect(start.transitions).toEqual([{ targets: ['work'], foreach: 'items', line: lineOf(fx.text, "this.next(this.work, { foreach: 'items' })"), column: 5 }]);
  });

  it('nested foreach, each level properly joined', () => {
    const fx = load('nested-foreach.ts');
    expectSteps(fx, ['start', 'row', 'cell_', 'joinCols', 'joinRows', 'end'], {
      start: { type: 'foreach', next: ['row'], foreach: 'rows', in: [], at: '@step start()' },
      row: { type: 'foreach', next: ['cell_'], foreach: 'cols', in: ['start'], at: '@step row()' },
      cell_: { type: 'linear', next: ['joinCols'], in: ['row'], at: '@step cell_()' },
      joinCols: { type: 'join', next: ['joinRows'], in: ['cell_'], at: '@step joinCols(' },
      joinRows: { type: 'join', next: ['end'], in: ['joinCols'], at: '@step joinRows(' },
      end: { type: 'end', next: [], in: ['joinRows'], at: '@step end()' },
    });
  });

  it('foreach inside one arm of a branch', () => {
    const fx = load('foreach-in-branch.ts');
    expectSteps(fx, ['start', 'fan', 'trial', 'trialJoin', 'single', 'join', 'end'], {
      start: { type: 'branch', next: ['fan', 'single'], in: [], at: '@step start()' },
      fan: { type: 'foreach', next: ['trial'], foreach: 'seeds', in: ['start'], at: '@step fan()' },
      trial: { type: 'linear', next: ['trialJoin'], in: ['fan'], at: '@step trial()' },
      trialJoin: { type: 'join', next: ['join'], in: ['trial'], at: '@step trialJoin(' },
      single: { type: 'linear', next: ['join'], in: ['start'], at: '@step single()' },
      join: { type: 'join', next: ['end'], in: ['trialJoin', 'single'], at: '@step join(' },
      end: { type: 'end', next: [], in: ['join'], at: '@step end()' },
    });
  });

  it('JSDoc on the class and on steps (also above a decorator stack); line comments are not docs', () => {
    const fx = load('docs.ts');
    expect(fx.graph.doc).toBe('Documented flow.\n\nIt has two paragraphs.');
    expect(fx.graph.line).toBe(lineOf(fx.text, 'export default class DocsFlow'));
    expectSteps(fx, ['start', 'middle', 'undocumented', 'end'], {
      start: { type: 'linear', next: ['middle'], in: [], at: '@step start()', doc: 'Begin here.' },
      middle: {
        type: 'linear',
        next: ['undocumented'],
        in: ['start'],
        at: '  middle() {',
        doc: 'The middle step.\nSpans two lines.',
        decorators: [dec('retry', { times: 1 }, lineOf(fx.text, '@retry({ times: 1 })'))],
      },
      undocumented: { type: 'linear', next: ['end'], in: ['middle'], at: '@step undocumented()' },
      end: { type: 'end', next: [], in: ['undocumented'], at: '@step end()', doc: 'The end.' },
    });
    expect('doc' in fx.graph.steps[2]!).toBe(false);
  });

  it('params of every type: number, string, boolean, array and object (json), declared type, required, help', () => {
    const fx = load('params.ts');
    expect(fx.errors).toEqual([]);
    expect(validateGraph(fx.graph)).toEqual([]);
    const at = (needle: string) => lineOf(fx.text, needle);
    const expected: ParamNode[] = [
      { name: 'alpha', type: 'number', default: 0.01, help: 'learning rate', required: false, line: at(' alpha = ') },
      { name: 'epochs', type: 'number', default: -3, help: 'how many epochs', required: false, line: at(' epochs = ') },
      { name: 'modelName', type: 'string', default: 'resnet', help: 'model name', required: false, line: at(' modelName = ') },
      { name: 'verbose', type: 'boolean', default: false, required: false, line: at(' verbose = ') },
      { name: 'layers', type: 'json', default: [64, 32, 16], help: 'layer sizes', required: false, line: at(' layers = ') },
      {
        name: 'optimizer',
        type: 'json',
        default: { kind: 'adam', beta: [0.9, 0.999], nesterov: true },
        help: 'optimizer settings',
        required: false,
        line: at(' optimizer = '),
      },
      { name: 'batchSize', type: 'number', help: 'batch size', required: true, line: at(' batchSize!') },
      { name: 'extra', type: 'json', default: null, required: false, line: at(' extra = ') },
      { name: 'label', type: 'string', default: 'plain', required: false, line: at(' label = ') },
      { name: 'ratio', type: 'number', default: 0.25, required: false, line: at(' ratio = ') },
    ];
    expect(fx.graph.params).toEqual(expected);
    expect('default' in fx.graph.params.find((p) => p.name === 'batchSize')!).toBe(false);
    expect('help' in fx.graph.params.find((p) => p.name === 'verbose')!).toBe(false);
    expect(fx.graph.order).toEqual(['start', 'end']);
  });

  it('every step decorator with literal options, and @npmBase/@condaBase on the class', () => {
    const fx = load('decorators.ts');
    const at = (needle: string) => lineOf(fx.text, needle);
    expect(fx.graph.decorators).toEqual([dec('npmBase', { packages: { lodash: '^4.17.0' }, node: '>=20' }, at('@npmBase(')), dec('condaBase', { packages: { numpy: '1.26.*' }, python: '3.11', channels: ['conda-forge'] }, at('@condaBase('))]);
    expect(fx.graph.line).toBe(at('export default class DecoratedFlow'));
    expectSteps(fx, ['start', 'compute', 'envs', 'end'], {
      start: {
        type: 'linear',
        next: ['compute'],
        in: [],
        at: '@step start()',
        decorators: [dec('retry', { times: 3, minutesBetween: 0.5 }, at('@retry({')), dec('timeout', { seconds: 30, minutes: 1, hours: 0 }, at('@timeout(')), dec('catchError', { var: 'failure', printException: false }, at('@catchError('))],
      },
      compute: {
        type: 'linear',
        next: ['envs'],
        in: ['start'],
        at: '@step compute()',
        decorators: [dec('resources', { cpu: 2, memory: 4096, gpu: 1 }, at('@resources(')), dec('batch', { queue: 'gpu-queue', image: 'node:20', cpu: 4, memory: 8192, gpu: 0 }, at('@batch('))],
      },
      envs: {
        type: 'linear',
        next: ['end'],
        in: ['compute'],
        at: '@step envs()',
        decorators: [dec('npm', { packages: { 'left-pad': '1.3.0', zod: '^3' }, node: '20' }, at('@npm({')), dec('conda', { packages: { pandas: '>=2' }, python: '3.12', channels: ['conda-forge', 'defaults'] }, at('@conda({')), dec('environment', { vars: { MODE: 'fast', LEVEL: '3' } }, at('@environment('))],
      },
      end: { type: 'end', next: [], in: ['envs'], at: '@step end()', decorators: [dec('retry', {}, lineOf(fx.text, '@retry', 2))] },
    });
  });

  it("namespace import: import * as fr from 'flowrun'", () => {
    const fx = load('namespace.ts');
    expect(fx.graph.flow).toBe('NamespaceFlow');
    expect(fx.graph.params).toEqual([{ name: 'count', type: 'number', default: 3, help: 'how many', required: false, line: lineOf(fx.text, 'count = 3') }]);
    expectSteps(fx, ['start', 'each', 'gather', 'end'], {
      start: { type: 'foreach', next: ['each'], foreach: 'items', in: [], at: '@fr.step start()' },
      each: {
        type: 'linear',
        next: ['gather'],
        in: ['start'],
        at: '@fr.step each()',
        decorators: [dec('retry', { times: 2 }, lineOf(fx.text, '@fr.retry('))],
      },
      gather: { type: 'join', next: ['end'], in: ['each'], at: '@fr.step gather(' },
      end: { type: 'end', next: [], in: ['gather'], at: '@fr.step end()' },
    });
  });

  it('renamed imports (FlowSpec as Base, step as s, ...) and user decorators are ignored', () => {
    const fx = load('renamed.ts');
    expect(fx.graph.flow).toBe('RenamedFlow');
    expect(fx.graph.params).toEqual([{ name: 'start_value', type: 'number', default: 7, help: 'seed-ish', required: false, line: lineOf(fx.text, 'start_value = 7') }]);
    expectSteps(fx, ['start', 'left', 'right', 'join', 'end'], {
      start: { type: 'branch', next: ['left', 'right'], in: [], at: '@s start()' },
      left: {
        type: 'linear',
        next: ['join'],
        in: ['start'],
        at: '@s left()',
        decorators: [dec('retry', { times: 4 }, lineOf(fx.text, '@again('))],
      },
      right: { type: 'linear', next: ['join'], in: ['start'], at: '@s right()' },
      join: { type: 'join', next: ['end'], in: ['left', 'right'], at: '@s join(' },
      end: { type: 'end', next: [], in: ['join'], at: '@s end()' },
    });
  });

  it('next() inside if/else (and an early return) with the same target is allowed', () => {
    const fx = load('same-target.ts');
    expectSteps(fx, ['start', 'finish', 'end'], {
      start: { type: 'linear', next: ['finish'], in: [], at: '@step start()', assigns: ['result'] },
      finish: { type: 'linear', next: ['end'], in: ['start'], at: '@step finish()' },
      end: { type: 'end', next: [], in: ['finish'], at: '@step end()' },
    });
    const [start, finish] = fx.graph.steps;
    expect(start!.transitions.map((t) => [t.targets, t.line])).toEqual([
      [['finish'], lineOf(fx.text, 'this.next(this.finish)', 1)],
      [['finish'], lineOf(fx.text, 'this.next(this.finish)', 2)],
    ]);
    expect(finish!.transitions).toHaveLength(2);
  });

  it('a local base flow class: steps and params are inherited, overrides replace the base step', () => {
    const fx = load('inherit.ts');
    expect(fx.graph.flow).toBe('ChildFlow');
    expect(fx.graph.params.map((p) => [p.name, p.type, p.default])).toEqual([
      ['alpha', 'number', 1],
      ['beta', 'string', 'b'],
    ]);
    expectSteps(fx, ['start', 'work', 'extra', 'end'], {
      start: { type: 'linear', next: ['work'], in: [], at: '@step start()' },
      work: { type: 'linear', next: ['extra'], in: ['start'], at: '@step override work()' },
      end: { type: 'end', next: [], in: ['extra'], at: '@step end()' },
      extra: { type: 'linear', next: ['end'], in: ['work'], at: '@step extra()' },
    });
  });

  it('the example train flow used by the smoke test is still valid', () => {
    const file = 'test/flows/train.ts';
    const { graph, errors } = extractGraph(file, readFileSync(file, 'utf8'));
    expect(errors).toEqual([]);
    expect(validateGraph(graph!)).toEqual([]);
    expect(graph!.doc).toBe('Trains a model over folds.');
  });

  it('is pure: the same input gives an equal, JSON-serialisable graph', () => {
    for (const name of ['linear.ts', 'decorators.ts', 'nested-foreach.ts', 'params.ts']) {
      const a = load(name).graph;
      const b = load(name).graph;
      expect(a).toEqual(b);
      expect(JSON.parse(JSON.stringify(a))).toEqual(a);
      const before = JSON.stringify(a);
      validateGraph(a);
      expect(JSON.stringify(a), 'validateGraph must not mutate the graph').toBe(before);
    }
  });

  it('class JSDoc is kept when class decorators stand between the doc and `export`', () => {
    const text = [`import { FlowSpec, step, npmBase } from 'flowrun';`, ``, `/** Flow with a base environment. */`, `@npmBase({ packages: { lodash: '^4' } })`, `export default class F extends FlowSpec {`, `  @step start() { this.next(this.end); }`, `  @step end() {}`, `}`].join('\n');
    const { graph, errors } = extractGraph('doc-dec.ts', text);
    expect(errors).toEqual([]);
    expect(graph!.decorators.map((d) => d.name)).toEqual(['npmBase']);
    expect(graph!.doc).toBe('Flow with a base environment.');
  });

  it('class JSDoc with `export default @dec class` and with a separate `export default F`', () => {
    for (const text of [
      `import { FlowSpec, step, npmBase } from 'flowrun';\n/** Doc A. */\nexport default @npmBase({}) class F extends FlowSpec {\n  @step start() { this.next(this.end); }\n  @step end() {}\n}\n`,
      `import { FlowSpec, step, npmBase } from 'flowrun';\n/** Doc A. */\n@npmBase({})\nclass F extends FlowSpec {\n  @step start() { this.next(this.end); }\n  @step end() {}\n}\nexport default F;\n`,
    ]) {
      const { graph, errors } = extractGraph('doc.ts', text);
      expect(errors).toEqual([]);
      expect(graph!.flow).toBe('F');
      expect(graph!.doc).toBe('Doc A.');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// choosing the flow class

describe('extractGraph: finding the flow class', () => {
  const flowBody = `{\n  @step start() { this.next(this.end); }\n  @step end() {}\n}\n`;

  it('FLOW_CLASS_NOT_FOUND when the file has no class at all', () => {
    const { graph, errors } = extractGraph('none.ts', `import { FlowSpec, step } from 'flowrun';\nexport const x = 1;\n`);
    expect(graph).toBeUndefined();
    expect(errors.map((e) => e.code)).toEqual(['FLOW_CLASS_NOT_FOUND']);
    expect(errors[0]!.location.file).toBe('none.ts');
    expect(errors[0]!.exitCode).toBe(ExitCode.usage);
    expect(errors[0]!.fix).toMatch(/export default class/);
  });

  it('FLOW_CLASS_NOT_FOUND without a flowrun import says to import FlowSpec', () => {
    const { errors } = extractGraph('noimport.ts', `export default class F extends Base ${flowBody}`);
    expect(errors.map((e) => e.code)).toEqual(['FLOW_CLASS_NOT_FOUND']);
    expect(errors[0]!.fix).toContain(`from 'flowrun'`);
  });

  it('FLOW_CLASS_NOT_FOUND when the flow class is not exported, naming it', () => {
    const { graph, errors } = extractGraph('hidden.ts', `import { FlowSpec, step } from 'flowrun';\nclass Hidden extends FlowSpec ${flowBody}`);
    expect(graph).toBeUndefined();
    expect(errors.map((e) => e.code)).toEqual(['FLOW_CLASS_NOT_FOUND']);
    expect(errors[0]!.message).toContain('Hidden');
    expect(errors[0]!.message).toMatch(/not export/);
    expect(errors[0]!.fix).toContain('export default class Hidden');
  });

  it('FLOW_CLASS_NOT_FOUND when the exported class does not extend FlowSpec', () => {
    const { errors } = extractGraph('other.ts', `import { FlowSpec, step } from 'flowrun';\nclass Base {}\nexport default class F extends Base ${flowBody}`);
    expect(errors.map((e) => e.code)).toEqual(['FLOW_CLASS_NOT_FOUND']);
  });

  it('FLOW_CLASS_AMBIGUOUS when two flows are exported and none is default', () => {
    const text = `import { FlowSpec, step } from 'flowrun';\nexport class A extends FlowSpec ${flowBody}export class B extends FlowSpec ${flowBody}`;
    const { graph, errors } = extractGraph('two.ts', text);
    expect(graph).toBeUndefined();
    expect(errors.map((e) => e.code)).toEqual(['FLOW_CLASS_AMBIGUOUS']);
    expect(errors[0]!.message).toContain('A, B');
    expect(errors[0]!.fix).toContain('export default');
    expect(errors[0]!.exitCode).toBe(ExitCode.usage);
  });

  it('the default export wins over other exported flows', () => {
    const text = `import { FlowSpec, step } from 'flowrun';\nexport class A extends FlowSpec ${flowBody}export default class B extends FlowSpec ${flowBody}`;
    const { graph, errors } = extractGraph('two.ts', text);
    expect(errors).toEqual([]);
    expect(graph!.flow).toBe('B');
    expect(graph!.line).toBe(lineOf(text, 'class B'));
  });

  it('a single named export is chosen; non-exported flows next to it are ignored', () => {
    const text = `import { FlowSpec, step } from 'flowrun';\nclass Draft extends FlowSpec ${flowBody}export class Real extends FlowSpec ${flowBody}`;
    const { graph, errors } = extractGraph('one.ts', text);
    expect(errors).toEqual([]);
    expect(graph!.flow).toBe('Real');
  });
});

// ---------------------------------------------------------------------------------------------
// syntax errors

describe('extractGraph: FLOW_COMPILE_ERROR', () => {
  it('reports a syntax error with file, line and column, and no graph', () => {
    const text = `${HEADER}  @step start() {\n    const x = ;\n    this.next(this.end);\n  }\n${END}\n}\n`;
    const { graph, errors } = extractGraph('broken.ts', text);
    expect(graph).toBeUndefined();
    expect(errors.length).toBeGreaterThanOrEqual(1);
    const e = errors[0]!;
    expect(e.code).toBe('FLOW_COMPILE_ERROR');
    expect(e.location).toEqual({ file: 'broken.ts', line: 5, column: 15 });
    expect(e.message).toContain('broken.ts:5:15');
    expect(e.exitCode).toBe(ExitCode.usage);
    expect(e.fix).toBeTruthy();
  });

  it('reports an unclosed class at the end of the file', () => {
    const text = `import { FlowSpec, step } from 'flowrun';\nexport default class F extends FlowSpec {\n  @step start() { this.next(this.end); }\n`;
    const { graph, errors } = extractGraph('open.ts', text);
    expect(graph).toBeUndefined();
    expect(errors[0]!.code).toBe('FLOW_COMPILE_ERROR');
    // Where the user must look is the brace left open, not the end of the file the parser reached.
    expect(errors[0]!.location.line).toBe(2);
    expect(errors[0]!.location.column).toBe(41);
    expect(errors[0]!.message).toContain('open.ts:4:1');
    expect(errors[0]!.message).toContain('the `{` opened at line 2:41 is not closed before the end of the file');
  });
});

// ---------------------------------------------------------------------------------------------
// next() that cannot be read statically

describe('extractGraph: GRAPH_DYNAMIC_NEXT', () => {
  it('this.next(someVar) is reported at the argument, naming the step', () => {
    const r = inline(`  @step start() {\n    const target = this.end;\n    this.next(target);\n  }\n${END}`);
    const e = only(r.errors, 'GRAPH_DYNAMIC_NEXT');
    expect(e.location).toMatchObject({ file: 'inline.ts', step: 'start', line: 6, column: 15 });
    expect(e.message).toContain('target');
    expect(e.fix).toContain('this.next(this.');
    expect(e.exitCode).toBe(ExitCode.usage);
  });

  it('computed member, call result and non-literal foreach options are dynamic too', () => {
    const computed = inline(`  @step start() {\n    this.next(this['end']);\n  }\n${END}`);
    expect(only(computed.errors, 'GRAPH_DYNAMIC_NEXT').location.line).toBe(5);
    const call = inline(`  @step start() {\n    this.next(pick(this));\n  }\n${END}`);
    expect(only(call.errors, 'GRAPH_DYNAMIC_NEXT').location.line).toBe(5);
    const opts = inline(`  @step start() {\n    this.xs = [1];\n    const k = 'xs';\n    this.next(this.a, { foreach: k });\n  }\n  @step a() { this.next(this.end); }\n${END}`);
    const e = only(opts.errors, 'GRAPH_DYNAMIC_NEXT');
    expect(e.location).toMatchObject({ step: 'start', line: 7 });
    const extra = inline(`  @step start() {\n    this.xs = [1];\n    this.next(this.a, { foreach: 'xs', parallel: true });\n  }\n  @step a() { this.next(this.end); }\n${END}`);
    expect(only(extra.errors, 'GRAPH_DYNAMIC_NEXT').location.line).toBe(6);
  });

  it('a step whose next() is unreadable is not also reported as never calling next()', () => {
    const r = inline(`  @step start() {\n    const target = this.end;\n    this.next(target);\n  }\n${END}`);
    expect(r.graph).toBeDefined();
    const all = [...r.errors, ...validateGraph(r.graph!)];
    expect(all.map((e) => e.code)).toContain('GRAPH_DYNAMIC_NEXT');
    const missing = all.filter((e) => e.code === 'GRAPH_MISSING_NEXT' && e.location.step === 'start');
    expect(
      missing.map((e) => e.message),
      'start does call next(); "never calls this.next" is false',
    ).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// decorators

describe('extractGraph: DECORATOR_INVALID', () => {
  it('unknown option, with a suggestion and the list of known options', () => {
    const r = inline(`  @retry({ tims: 3 })\n  @step start() { this.next(this.end); }\n${END}`);
    const e = only(r.errors, 'DECORATOR_INVALID');
    expect(e.location).toMatchObject({ file: 'inline.ts', line: 4, step: 'start' });
    expect(e.message).toContain("'tims'");
    expect(e.fix).toContain("Did you mean 'times'?");
    expect(e.fix).toContain('minutesBetween');
    expect(e.exitCode).toBe(ExitCode.usage);
  });

  it('ill-typed options: a string for a number, a fraction for an integer, below the minimum', () => {
    const r = inline(`  @resources({ cpu: 'two', memory: 1.5 })\n  @step start() { this.next(this.a); }\n  @retry({ times: -1 })\n  @step a() { this.next(this.end); }\n${END}`);
    const errs = r.errors.filter((e) => e.code === 'DECORATOR_INVALID');
    expect(errs.map((e) => [e.location.line, e.location.step])).toEqual([
      [4, 'start'],
      [4, 'start'],
      [6, 'a'],
    ]);
    expect(errs[0]!.message).toMatch(/'cpu' must be a number/);
    expect(errs[1]!.message).toMatch(/'memory' must be a whole number/);
    expect(errs[2]!.message).toMatch(/'times' must be at least 0/);
    // an invalid decorator is not recorded with bad options
    expect(r.graph!.steps[0]!.decorators).toEqual([{ name: 'resources', options: {}, line: 4 }]);
  });

  it('a required option is missing (@environment needs vars)', () => {
    const r = `import { FlowSpec, step, environment } from 'flowrun';\nexport default class F extends FlowSpec {\n  @environment({})\n  @step start() { this.next(this.end); }\n${END}\n}\n`;
    const { errors } = extractGraph('env.ts', r);
    const e = only(errors, 'DECORATOR_INVALID');
    expect(e.message).toContain("'vars'");
    expect(e.location).toMatchObject({ line: 3, step: 'start' });
  });

  it('non-literal options are reported at the offending expression', () => {
    const r = inline(`  @retry({\n    times: TIMES,\n  })\n  @step start() { this.next(this.end); }\n${END}`);
    const e = only(r.errors, 'DECORATOR_INVALID');
    expect(e.message).toMatch(/literal/);
    expect(e.location).toMatchObject({ line: 5, step: 'start' });
    expect(e.fix).toContain('line 5');
  });

  it("an unknown decorator: 'Unknown decorator', with a suggestion (@retyr -> @retry)", () => {
    const r = inline(`  @retyr({ times: 1 })\n  @step start() { this.next(this.end); }\n${END}`);
    const e = only(r.errors, 'DECORATOR_INVALID');
    expect(e.message).toContain('Unknown decorator');
    expect(e.message).toContain('@retyr');
    expect(e.fix).toContain('@retry');
    expect(e.location).toMatchObject({ line: 4, step: 'start' });
    // the same when the typo is imported from flowrun
    const imported = extractGraph('imp.ts', `import { FlowSpec, step, retyr } from 'flowrun';\nexport default class F extends FlowSpec {\n  @retyr() @step start() { this.next(this.end); }\n${END}\n}\n`);
    expect(only(imported.errors, 'DECORATOR_INVALID').fix).toContain('@retry');
  });

  it('a flowrun decorator used without importing it', () => {
    const r = inline(`  @timeout({ seconds: 5 })\n  @step start() { this.next(this.end); }\n${END}`);
    const e = only(r.errors, 'DECORATOR_INVALID');
    expect(e.message).toMatch(/not imported/);
    expect(e.fix).toContain('timeout');
  });

  it('@step() with parentheses', () => {
    const r = inline(`  @step() start() { this.next(this.end); }\n${END}`);
    const e = only(r.errors, 'DECORATOR_INVALID');
    expect(e.location).toMatchObject({ line: 4, step: 'start' });
    expect(e.fix).toContain('@step');
  });

  it('a decorator on the wrong kind of target (flow decorator on a step, step decorator on the class)', () => {
    const onStep = inline(`  @npmBase({})\n  @step start() { this.next(this.end); }\n${END}`);
    expect(only(onStep.errors, 'DECORATOR_INVALID').message).toMatch(/belongs on the flow class/);
    const onClass = extractGraph('cls.ts', `import { FlowSpec, step, retry } from 'flowrun';\n@retry({ times: 1 })\nexport default class F extends FlowSpec {\n  @step start() { this.next(this.end); }\n${END}\n}\n`);
    const e = only(onClass.errors, 'DECORATOR_INVALID');
    expect(e.message).toMatch(/belongs on a @step method/);
    expect(e.location.line).toBe(2);
  });
});

// ---------------------------------------------------------------------------------------------
// params

describe('extractGraph: PARAM_TYPE', () => {
  it('no literal default and no declared type', () => {
    const r = inline(`  @param({ help: 'h' }) x;\n  @param() y = Date.now();\n  @step start() { this.next(this.end); }\n${END}`);
    const errs = r.errors.filter((e) => e.code === 'PARAM_TYPE');
    expect(errs.map((e) => [e.location.param, e.location.line])).toEqual([
      ['x', 4],
      ['y', 5],
    ]);
    expect(errs[0]!.fix).toContain("type: 'number'");
    expect(errs.every((e) => e.exitCode === ExitCode.usage)).toBe(true);
    // the params that could not be typed are left out of the graph
    expect(r.graph!.params).toEqual([]);
  });

  it('a declared type that contradicts the literal default', () => {
    const r = inline(`  @param({ type: 'number' }) x = 'abc';\n  @step start() { this.next(this.end); }\n${END}`);
    const e = only(r.errors, 'PARAM_TYPE');
    expect(e.location).toMatchObject({ param: 'x', line: 4 });
    expect(e.message).toMatch(/number/);
  });

  it('a declared type makes a non-literal default acceptable', () => {
    const r = inline(`  @param({ type: 'number' }) when = Date.now();\n  @step start() { this.next(this.end); }\n${END}`);
    expect(r.errors).toEqual([]);
    expect(r.graph!.params).toEqual([{ name: 'when', type: 'number', required: false, line: 4 }]);
  });
});
