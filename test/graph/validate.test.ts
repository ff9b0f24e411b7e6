import { describe, expect, it } from 'vitest';
import { ExitCode, type FlowError } from '../../src/errors/index.js';
import { extractGraph } from '../../src/graph/extract.js';
import { stepMap, type FlowGraph } from '../../src/graph/types.js';
import { RULES, findCycle, validateGraph } from '../../src/graph/validate.js';

// ---------------------------------------------------------------------------------------------
// helpers

/** Every inline flow starts with these three lines; the class body starts on line 4. */
const HEADER = `import { FlowSpec, step, param, type Inputs } from 'flowrun';\n\nexport default class F extends FlowSpec {\n`;
const FILE = 'flows/inline.ts';

interface Checked {
  text: string;
  graph: FlowGraph;
  /** validateGraph's errors (extraction must be clean for these sources). */
  errors: FlowError[];
}

function check(lines: string[]): Checked {
  const text = `${HEADER}${lines.join('\n')}\n}\n`;
  const { graph, errors } = extractGraph(FILE, text);
  expect(
    errors.map((e) => `${e.code}: ${e.message}`),
    'extraction should be clean',
  ).toEqual([]);
  return { text, graph: graph!, errors: validateGraph(graph!) };
}

/** 1-based line of the nth line containing `needle`. */
function lineOf(text: string, needle: string, nth = 1): number {
  let seen = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) if (lines[i]!.includes(needle) && ++seen === nth) return i + 1;
  throw new Error(`"${needle}" (#${nth}) not found`);
}

function codes(errors: FlowError[]): string[] {
  return errors.map((e) => e.code);
}

/** The single error with `code` (fails listing every code when there is not exactly one). */
function one(errors: FlowError[], code: string, step?: string): FlowError {
  const hits = errors.filter((e) => e.code === code && (step === undefined || e.location.step === step));
  expect(hits.length, `one ${code}${step ? ` on ${step}` : ''} in ${JSON.stringify(errors.map((e) => [e.code, e.message]))}`).toBe(1);
  return hits[0]!;
}

const END = '  @step end() {}';

// ---------------------------------------------------------------------------------------------

describe('validateGraph: RULES', () => {
  it('validateGraph is the concatenation of RULES, and every error is exit 2 with the file', () => {
    const { graph } = check(['  @param() seed = 1;', '  @step start() { this.index = 1; this.next(this.a, this.b); }', '  @step a() { this.next(this.c); }', '  @step b() { this.next(this.c); }', '  @step c() { this.next(this.nope); }', '  @step lost() {}', END]);
    const all = validateGraph(graph);
    const steps = stepMap(graph);
    expect(all.map((e) => e.message)).toEqual(RULES.flatMap((r) => r(graph, steps)).map((e) => e.message));
    expect(all.length).toBeGreaterThan(3);
    for (const e of all) {
      expect(e.exitCode, e.code).toBe(ExitCode.usage);
      expect(e.location.file, e.code).toBe(FILE);
      expect(typeof e.location.line, e.code).toBe('number');
      expect(e.fix, e.code).toBeTruthy();
    }
  });
});

describe('GRAPH_START_END', () => {
  it('no start step', () => {
    const { errors } = check(['  @step begin() { this.next(this.end); }', END]);
    const e = one(errors, 'GRAPH_START_END');
    expect(e.message).toMatch(/no start step/);
    expect(e.location.line).toBe(3);
    expect(e.fix).toContain('start()');
  });

  it('no end step', () => {
    const { errors } = check(['  @step start() { this.next(this.finish); }', '  @step finish() {}']);
    const e = one(errors, 'GRAPH_START_END');
    expect(e.message).toMatch(/no end step/);
    expect(e.location.line).toBe(3);
    expect(e.fix).toContain('end()');
  });

  it('neither start nor end: both are reported', () => {
    const { errors } = check(['  @step only() {}']);
    expect(codes(errors).filter((c) => c === 'GRAPH_START_END')).toHaveLength(2);
  });

  it('end with next(): reported at the next() call', () => {
    const { text, errors } = check(['  @step start() { this.next(this.end); }', '  @step other() { this.next(this.end); }', '  @step end() {', '    this.next(this.other);', '  }']);
    const e = one(errors, 'GRAPH_START_END');
    expect(e.location).toMatchObject({ step: 'end', line: lineOf(text, 'this.next(this.other)') });
    expect(e.message).toMatch(/end/);
  });

  it('several start steps are a duplicate step name', () => {
    const { text, errors } = check(['  @step start() { this.next(this.end); }', '  @step start() { this.next(this.end); }', END]);
    const e = one(errors, 'GRAPH_STEP_NAME');
    expect(e.location).toMatchObject({ step: 'start', line: lineOf(text, '@step start()', 2) });
    expect(e.message).toContain(`lines ${lineOf(text, '@step start()')} and ${lineOf(text, '@step start()', 2)}`);
  });
});

describe('GRAPH_MISSING_NEXT', () => {
  it('a step that never calls next() is reported at its declaration', () => {
    const { text, errors } = check(['  @step start() { this.next(this.train); }', '  @step train() {', '    const x = 1;', '  }', END]);
    const e = one(errors, 'GRAPH_MISSING_NEXT');
    expect(e.location).toMatchObject({ file: FILE, step: 'train', line: lineOf(text, '@step train()') });
    expect(e.fix).toContain('this.next(');
    expect(e.exitCode).toBe(ExitCode.usage);
  });

  it('next() inside a nested function does not count (it rebinds this)', () => {
    const { errors } = check(['  @step start() { [1].forEach(function () { this.next(this.end); }); }', END]);
    one(errors, 'GRAPH_MISSING_NEXT', 'start');
  });

  it('next() inside an arrow function counts', () => {
    const { errors } = check(['  @step start() { [1].forEach(() => this.next(this.end)); }', END]);
    expect(errors).toEqual([]);
  });

  it('next() without any target', () => {
    const { text, errors } = check(['  @step start() {', '    this.next();', '  }', END]);
    const e = one(errors, 'GRAPH_MISSING_NEXT', 'start');
    expect(e.location.line).toBe(lineOf(text, 'this.next();'));
  });
});

describe('GRAPH_UNKNOWN_STEP', () => {
  it('a typo gets a "Did you mean" suggestion, at the next() line', () => {
    const { text, errors } = check(['  @step start() {', '    this.next(this.trian);', '  }', '  @step train() { this.next(this.end); }', END]);
    const e = one(errors, 'GRAPH_UNKNOWN_STEP');
    expect(e.location).toMatchObject({ step: 'start', line: lineOf(text, 'this.next(this.trian)') });
    expect(e.message).toContain('trian');
    expect(e.fix).toContain('Did you mean this.train?');
  });

  it('a name far from every step gets no suggestion', () => {
    const { errors } = check(['  @step start() { this.next(this.somethingElse); }', END]);
    const e = one(errors, 'GRAPH_UNKNOWN_STEP');
    expect(e.fix).not.toMatch(/Did you mean/);
    expect(e.fix).toContain('somethingElse');
  });

  it('a plain method that is not a @step is unknown too', () => {
    const { errors } = check(['  @step start() { this.next(this.helper); }', '  helper() { this.next(this.end); }', END]);
    expect(one(errors, 'GRAPH_UNKNOWN_STEP').message).toContain('helper');
  });
});

describe('GRAPH_CYCLE', () => {
  it('names the loop a->b->a and points at the back-edge', () => {
    const { text, errors } = check(['  @step start() { this.next(this.a); }', '  @step a() { this.next(this.b); }', '  @step b() {', '    this.next(this.a, this.end);', '  }', END]);
    const e = one(errors, 'GRAPH_CYCLE');
    expect(e.message).toContain('a->b->a');
    expect(e.message).toMatch(/There is a loop in your flow/);
    expect(e.fix).toMatch(/Break the loop/);
    expect(e.location).toMatchObject({ file: FILE, step: 'b', line: lineOf(text, 'this.next(this.a, this.end)') });
    expect(e.exitCode).toBe(ExitCode.usage);
  });

  it('a self-loop', () => {
    const { errors } = check(['  @step start() { this.next(this.start); }', END]);
    expect(one(errors, 'GRAPH_CYCLE').message).toContain('start->start');
  });

  it('a longer loop back to start', () => {
    const { text, errors } = check(['  @step start() { this.next(this.a); }', '  @step a() { this.next(this.b); }', '  @step b() { this.next(this.c); }', '  @step c() { this.next(this.start); }', END]);
    const e = one(errors, 'GRAPH_CYCLE');
    expect(e.message).toContain('start->a->b->c->start');
    expect(e.location).toMatchObject({ step: 'c', line: lineOf(text, '@step c()') });
  });

  it('a loop among unreachable steps is still a loop', () => {
    const { errors } = check(['  @step start() { this.next(this.end); }', '  @step x() { this.next(this.y); }', '  @step y() { this.next(this.x); }', END]);
    expect(one(errors, 'GRAPH_CYCLE').message).toContain('x->y->x');
    expect(errors.filter((e) => e.code === 'GRAPH_ORPHAN').map((e) => e.location.step)).toEqual(['x', 'y']);
  });

  it('findCycle returns a closed path, or undefined on a DAG', () => {
    const cyclic = check(['  @step start() { this.next(this.a); }', '  @step a() { this.next(this.start); }', END]);
    expect(findCycle(cyclic.graph, stepMap(cyclic.graph))).toEqual(['start', 'a', 'start']);
    const dag = check(['  @step start() { this.next(this.a); }', '  @step a() { this.next(this.end); }', END]);
    expect(findCycle(dag.graph, stepMap(dag.graph))).toBeUndefined();
  });
});

describe('GRAPH_ORPHAN', () => {
  it('a step nothing leads to', () => {
    const { text, errors } = check(['  @step start() { this.next(this.end); }', '  @step forgotten() { this.next(this.end); }', END]);
    const e = one(errors, 'GRAPH_ORPHAN');
    expect(e.location).toMatchObject({ step: 'forgotten', line: lineOf(text, '@step forgotten()') });
    expect(e.fix).toContain('this.next(this.forgotten)');
    expect(codes(errors)).toEqual(['GRAPH_ORPHAN']);
  });

  it('a step only reached from an orphan is an orphan too', () => {
    const { errors } = check(['  @step start() { this.next(this.end); }', '  @step a() { this.next(this.b); }', '  @step b() { this.next(this.end); }', END]);
    expect(errors.filter((e) => e.code === 'GRAPH_ORPHAN').map((e) => e.location.step)).toEqual(['a', 'b']);
  });
});

describe('GRAPH_JOIN_ARITY', () => {
  it('a step reached from two branches without taking inputs', () => {
    const { text, errors } = check(['  @step start() { this.next(this.a, this.b); }', '  @step a() { this.next(this.meet); }', '  @step b() { this.next(this.meet); }', '  @step meet() { this.next(this.end); }', END]);
    const e = one(errors, 'GRAPH_JOIN_ARITY');
    expect(e.location).toMatchObject({ step: 'meet', line: lineOf(text, '@step meet()') });
    expect(e.message).toContain('a, b');
    expect(e.fix).toContain('meet(inputs: Inputs<F>)');
  });

  it('a join with no split before it', () => {
    const { text, errors } = check(['  @step start() { this.next(this.join); }', '  @step join(inputs: Inputs<F>) { this.next(this.end); }', END]);
    const e = one(errors, 'GRAPH_JOIN_ARITY');
    expect(e.location).toMatchObject({ step: 'join', line: lineOf(text, '@step join(') });
    expect(codes(errors)).toEqual(['GRAPH_JOIN_ARITY']);
  });

  it('a join after its split was already closed', () => {
    const { errors } = check(['  @step start() { this.next(this.a, this.b); }', '  @step a() { this.next(this.j1); }', '  @step b() { this.next(this.j1); }', '  @step j1(inputs: Inputs<F>) { this.next(this.j2); }', '  @step j2(inputs: Inputs<F>) { this.next(this.end); }', END]);
    one(errors, 'GRAPH_JOIN_ARITY', 'j2');
  });

  it('start taking inputs', () => {
    const { text, errors } = check(['  @step start(inputs: Inputs<F>) { this.next(this.end); }', END]);
    const arity = errors.filter((e) => e.code === 'GRAPH_JOIN_ARITY');
    expect(arity.length).toBeGreaterThanOrEqual(1);
    for (const e of arity) expect(e.location).toMatchObject({ step: 'start', line: lineOf(text, '@step start(') });
    expect(codes(errors).every((c) => c === 'GRAPH_JOIN_ARITY')).toBe(true);
  });
});

describe('GRAPH_SPLIT_JOIN_BALANCE', () => {
  it('a branch never joined before end', () => {
    const { text, errors } = check(['  @step start() { this.next(this.a, this.b); }', '  @step a() { this.next(this.end); }', '  @step b() { this.next(this.end); }', END]);
    const e = one(errors, 'GRAPH_SPLIT_JOIN_BALANCE');
    expect(e.location).toMatchObject({ step: 'end', line: lineOf(text, '@step end()') });
    expect(e.message).toContain('start');
  });

  it('a foreach never joined before end', () => {
    const { errors } = check(["  @step start() { this.xs = [1, 2]; this.next(this.each, { foreach: 'xs' }); }", '  @step each() { this.next(this.end); }', END]);
    expect(one(errors, 'GRAPH_SPLIT_JOIN_BALANCE', 'end').message).toContain('start');
    expect(codes(errors)).toEqual(['GRAPH_SPLIT_JOIN_BALANCE']);
  });

  it('an inner foreach closed, the outer one not', () => {
    const { errors } = check(["  @step start() { this.xs = [1]; this.next(this.mid, { foreach: 'xs' }); }", "  @step mid() { this.ys = [1]; this.next(this.leaf, { foreach: 'ys' }); }", '  @step leaf() { this.next(this.inner); }', '  @step inner(inputs: Inputs<F>) { this.next(this.end); }', END]);
    expect(one(errors, 'GRAPH_SPLIT_JOIN_BALANCE', 'end').message).toContain('start');
  });

  it('a join that also splits', () => {
    const { text, errors } = check([
      '  @step start() { this.next(this.a, this.b); }',
      '  @step a() { this.next(this.j); }',
      '  @step b() { this.next(this.j); }',
      '  @step j(inputs: Inputs<F>) { this.next(this.c, this.d); }',
      '  @step c() { this.next(this.j2); }',
      '  @step d() { this.next(this.j2); }',
      '  @step j2(inputs: Inputs<F>) { this.next(this.end); }',
      END,
    ]);
    const e = one(errors, 'GRAPH_SPLIT_JOIN_BALANCE', 'j');
    expect(e.location.line).toBe(lineOf(text, '@step j('));
    expect(e.message).toMatch(/both joins and splits/);
    expect(e.fix).toMatch(/Add a new step/);
  });

  it('a join that starts a foreach', () => {
    const { errors } = check([
      '  @step start() { this.next(this.a, this.b); }',
      '  @step a() { this.next(this.j); }',
      '  @step b() { this.next(this.j); }',
      "  @step j(inputs: Inputs<F>) { this.xs = [1]; this.next(this.each, { foreach: 'xs' }); }",
      '  @step each() { this.next(this.j2); }',
      '  @step j2(inputs: Inputs<F>) { this.next(this.end); }',
      END,
    ]);
    expect(one(errors, 'GRAPH_SPLIT_JOIN_BALANCE', 'j').message).toMatch(/both joins and splits/);
  });

  it('a join closing fewer branches than the split opened', () => {
    const { text, errors } = check(['  @step start() { this.next(this.a, this.b, this.c); }', '  @step a() { this.next(this.j); }', '  @step b() { this.next(this.j); }', '  @step c() { this.next(this.end); }', '  @step j(inputs: Inputs<F>) { this.next(this.end); }', END]);
    const e = one(errors, 'GRAPH_SPLIT_JOIN_BALANCE', 'j');
    expect(e.location.line).toBe(lineOf(text, '@step j('));
    expect(e.message).toContain('3 path(s)');
    expect(e.message).toContain('a, b');
  });

  it('a join mixing paths of an inner and an outer split', () => {
    const { errors } = check(['  @step start() { this.next(this.a, this.b); }', '  @step a() { this.next(this.x, this.y); }', '  @step x() { this.next(this.j); }', '  @step y() { this.next(this.j); }', '  @step b() { this.next(this.j); }', '  @step j(inputs: Inputs<F>) { this.next(this.end); }', END]);
    one(errors, 'GRAPH_SPLIT_JOIN_BALANCE', 'j');
  });

  it('the same target twice, and a foreach with two targets', () => {
    const dup = check(['  @step start() { this.next(this.a, this.a); }', '  @step a() { this.next(this.end); }', END]);
    expect(one(dup.errors, 'GRAPH_SPLIT_JOIN_BALANCE', 'start').message).toMatch(/twice/);
    const two = check(["  @step start() { this.xs = [1]; this.next(this.a, this.b, { foreach: 'xs' }); }", '  @step a() { this.next(this.j); }', '  @step b() { this.next(this.j); }', '  @step j(inputs: Inputs<F>) { this.next(this.end); }', END]);
    expect(two.errors.some((e) => e.code === 'GRAPH_SPLIT_JOIN_BALANCE' && e.location.step === 'start' && /exactly one/.test(e.message))).toBe(true);
  });

  it('an end step that takes inputs is rejected without claiming it takes no inputs', () => {
    const { errors } = check(['  @step start() { this.next(this.a, this.b); }', '  @step a() { this.next(this.end); }', '  @step b() { this.next(this.end); }', '  @step end(inputs: Inputs<F>) {}']);
    const onEnd = errors.filter((e) => e.location.step === 'end');
    expect(onEnd.length).toBeGreaterThan(0);
    expect(onEnd.every((e) => e.code === 'GRAPH_JOIN_ARITY' || e.code === 'GRAPH_SPLIT_JOIN_BALANCE')).toBe(true);
    expect(
      onEnd.map((e) => e.message).filter((m) => /takes no inputs/.test(m)),
      'end(inputs) does take inputs',
    ).toEqual([]);
  });
});

describe('GRAPH_FOREACH_FIELD', () => {
  it('a foreach over a field the step never assigns, at the next() line', () => {
    const { text, errors } = check(['  @step start() {', '    this.items = [1, 2];', "    this.next(this.each, { foreach: 'itmes' });", '  }', '  @step each() { this.next(this.join); }', '  @step join(inputs: Inputs<F>) { this.next(this.end); }', END]);
    const e = one(errors, 'GRAPH_FOREACH_FIELD');
    expect(e.location).toMatchObject({ step: 'start', line: lineOf(text, "foreach: 'itmes'") });
    expect(e.message).toContain('itmes');
    expect(e.fix).toContain('this.itmes');
    expect(codes(errors)).toEqual(['GRAPH_FOREACH_FIELD']);
  });

  it('assignment forms that count: destructuring, compound, update, inside an arrow', () => {
    for (const assign of ['[this.xs] = [[1, 2]];', '({ xs: this.xs } = { xs: [1] });', 'this.xs ??= [1];', '[1].forEach(() => { this.xs = [1]; });']) {
      const { errors } = check([`  @step start() { ${assign} this.next(this.each, { foreach: 'xs' }); }`, '  @step each() { this.next(this.join); }', '  @step join(inputs: Inputs<F>) { this.next(this.end); }', END]);
      expect(errors, assign).toEqual([]);
    }
  });

  it('a foreach over a parameter is allowed', () => {
    const { errors } = check(['  @param() folds = [1, 2, 3];', "  @step start() { this.next(this.each, { foreach: 'folds' }); }", '  @step each() { this.next(this.join); }', '  @step join(inputs: Inputs<F>) { this.next(this.end); }', END]);
    expect(errors).toEqual([]);
  });

  it('a foreach over an artifact assigned in an earlier step is allowed (DESIGN §2: artifacts are visible to later steps)', () => {
    const { errors } = check(['  @step start() { this.items = [1, 2, 3]; this.next(this.prepare); }', "  @step prepare() { this.next(this.each, { foreach: 'items' }); }", '  @step each() { this.next(this.join); }', '  @step join(inputs: Inputs<F>) { this.next(this.end); }', END]);
    expect(errors.map((e) => e.message)).toEqual([]);
  });

  it('a foreach over an artifact assigned only in a later or unrelated step is still an error', () => {
    const { errors } = check(["  @step start() { this.next(this.each, { foreach: 'items' }); }", '  @step each() { this.items = [1]; this.next(this.join); }', '  @step join(inputs: Inputs<F>) { this.next(this.end); }', END]);
    one(errors, 'GRAPH_FOREACH_FIELD', 'start');
  });
});

describe('GRAPH_STEP_NAME', () => {
  it('a duplicate step', () => {
    const { text, errors } = check(['  @step start() { this.next(this.train); }', '  @step train() { this.next(this.end); }', '  @step train() { this.next(this.end); }', END]);
    const e = one(errors, 'GRAPH_STEP_NAME');
    expect(e.location).toMatchObject({ step: 'train', line: lineOf(text, '@step train()', 2) });
    expect(e.message).toMatch(/defined twice/);
  });

  it('reserved names: next and input', () => {
    const { text, errors } = check(['  @step start() { this.next(this.next, this.input); }', '  @step next() { this.next(this.j); }', '  @step input() { this.next(this.j); }', '  @step j(inputs: Inputs<F>) { this.next(this.end); }', END]);
    const names = errors.filter((e) => e.code === 'GRAPH_STEP_NAME');
    expect(names.map((e) => [e.location.step, e.location.line])).toEqual([
      ['next', lineOf(text, '@step next()')],
      ['input', lineOf(text, '@step input()')],
    ]);
    expect(names[0]!.message).toMatch(/reserved/);
  });

  it('a step name that is not an identifier', () => {
    const { text, errors } = check(['  @step start() { this.next(this.end); }', "  @step 'fit model'() { this.next(this.end); }", END]);
    const e = one(errors, 'GRAPH_STEP_NAME', 'fit model');
    expect(e.location.line).toBe(lineOf(text, "'fit model'"));
  });
});

describe('ARTIFACT_RESERVED_NAME', () => {
  it('this.index = ..., this.input = ... and an artifact named like a step', () => {
    const { text, errors } = check(['  @step start() {', '    this.index = 1;', '    this.input = 2;', '    this.end = 3;', '    this.next(this.end);', '  }', END]);
    const arts = errors.filter((e) => e.code === 'ARTIFACT_RESERVED_NAME');
    expect(arts.map((e) => [e.location.step, e.location.artifact])).toEqual([
      ['start', 'index'],
      ['start', 'input'],
      ['start', 'end'],
    ]);
    for (const e of arts) {
      expect(e.location.file).toBe(FILE);
      expect(e.location.line).toBe(lineOf(text, '@step start()'));
      expect(e.fix).toMatch(/Rename/);
      expect(e.exitCode).toBe(ExitCode.usage);
    }
    expect(arts[0]!.message).toContain('this.index');
  });

  it('reading this.index and this.input is fine', () => {
    const { errors } = check(["  @step start() { this.xs = [1]; this.next(this.each, { foreach: 'xs' }); }", '  @step each() { this.v = (this.input as number) + this.index; this.next(this.join); }', '  @step join(inputs: Inputs<F>) { this.next(this.end); }', END]);
    expect(errors).toEqual([]);
  });
});

describe('PARAM_NAME_CLASH', () => {
  it('seed, maxWorkers (as --max-workers), a reserved name and a step name', () => {
    const { text, errors } = check(['  @param() seed = 1;', '  @param() maxWorkers = 2;', "  @param() name = 'x';", '  @param() train = 3;', '  @param() ok = 4;', '  @step start() { this.next(this.train); }', '  @step train() { this.next(this.end); }', END]);
    const clashes = errors.filter((e) => e.code === 'PARAM_NAME_CLASH');
    expect(clashes.map((e) => [e.location.param, e.location.line])).toEqual([
      ['seed', lineOf(text, 'seed = 1')],
      ['maxWorkers', lineOf(text, 'maxWorkers = 2')],
      ['name', lineOf(text, "name = 'x'")],
      ['train', lineOf(text, 'train = 3')],
    ]);
    expect(clashes[0]!.message).toContain('--seed');
    expect(clashes[1]!.message).toContain('--max-workers');
    expect(clashes[3]!.message).toContain('step train');
    expect(clashes.every((e) => e.exitCode === ExitCode.usage && e.fix !== undefined)).toBe(true);
    expect(codes(errors)).toEqual(['PARAM_NAME_CLASH', 'PARAM_NAME_CLASH', 'PARAM_NAME_CLASH', 'PARAM_NAME_CLASH']);
  });
});

describe('GRAPH_CONDITIONAL_NEXT', () => {
  it('if/else going to different steps, reported at the second call', () => {
    const { text, errors } = check(['  @step start() {', '    if (Math.random() > 0.5) {', '      this.next(this.a);', '    } else {', '      this.next(this.end);', '    }', '  }', '  @step a() { this.next(this.end); }', END]);
    const e = one(errors, 'GRAPH_CONDITIONAL_NEXT');
    expect(e.location).toMatchObject({ step: 'start', line: lineOf(text, 'this.next(this.end)') });
    expect(e.message).toContain(`lines ${lineOf(text, 'this.next(this.a)')} and ${lineOf(text, 'this.next(this.end)')}`);
    expect(e.exitCode).toBe(ExitCode.usage);
  });

  it('a ternary, and the same target with and without foreach', () => {
    const ternary = check(['  @step start() { Math.random() > 0.5 ? this.next(this.a) : this.next(this.b); }', '  @step a() { this.next(this.end); }', '  @step b() { this.next(this.end); }', END]);
    one(ternary.errors, 'GRAPH_CONDITIONAL_NEXT', 'start');
    const mixed = check(['  @step start() {', '    this.xs = [1];', "    if (this.xs.length > 1) this.next(this.each, { foreach: 'xs' });", '    else this.next(this.each);', '  }', '  @step each() { this.next(this.join); }', '  @step join(inputs: Inputs<F>) { this.next(this.end); }', END]);
    one(mixed.errors, 'GRAPH_CONDITIONAL_NEXT', 'start');
  });

  it('the same branch targets in the same order on both sides are fine', () => {
    const { errors } = check(['  @step start() {', '    if (Math.random() > 0.5) this.next(this.a, this.b);', '    else this.next(this.a, this.b);', '  }', '  @step a() { this.next(this.join); }', '  @step b() { this.next(this.join); }', '  @step join(inputs: Inputs<F>) { this.next(this.end); }', END]);
    expect(errors).toEqual([]);
  });
});
