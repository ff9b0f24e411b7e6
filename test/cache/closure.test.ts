import { describe, expect, it } from 'vitest';
import { flowClosure, type ClosureInput } from '../../src/cache/closure.js';

const FLOW = `import { FlowSpec, step, param, type Inputs } from 'flowrun';
import { scale } from './lib/scale';
import { fmt } from './lib/fmt';
import './lib/setup';

const FACTOR = 2;

/** A pipeline. */
export default class P extends FlowSpec {
  @param() n = 4;
  @param() label = 'x';
  items!: number[];
  doubled = this.n * FACTOR;

  @step start() {
    this.items = [...Array(this.n).keys()];
    this.next(this.transform, { foreach: 'items' });
  }

  @step transform() {
    this.scaled = scale(this.input as number);
    this.next(this.gather);
  }

  @step gather(inputs: Inputs<P>) {
    this.total = inputs.length;
    this.next(this.report);
  }

  /** Says it. */
  @step report() {
    this.text = fmt(this.label, 1);
    this.next(this.end);
  }

  @step end() {}
}
`;

const STEPS = ['start', 'transform', 'gather', 'report', 'end'];
const IMPORTS = {
  'flows/p.ts': [
    { path: 'flows/lib/scale.ts', specifier: './lib/scale', kind: 'import-statement' },
    { path: 'flows/lib/fmt.ts', specifier: './lib/fmt', kind: 'import-statement' },
    { path: 'flows/lib/setup.ts', specifier: './lib/setup', kind: 'import-statement' },
  ],
  'flows/lib/scale.ts': [{ path: 'flows/lib/math.ts', specifier: './math', kind: 'import-statement' }],
  'flows/lib/fmt.ts': [],
  'flows/lib/setup.ts': [],
  'flows/lib/math.ts': [],
};
const HASHES = { 'flows/p.ts': 'f0', 'flows/lib/scale.ts': 's0', 'flows/lib/fmt.ts': 'm0', 'flows/lib/setup.ts': 'u0', 'flows/lib/math.ts': 'a0' };

function digests(patch: Partial<ClosureInput> = {}): Record<string, string> {
  const c = flowClosure({ file: 'flows/p.ts', text: FLOW, steps: STEPS, params: ['n', 'label'], imports: IMPORTS, hashes: HASHES, ...patch });
  return Object.fromEntries(c.steps);
}

/** The steps whose digest differs between two closures. */
function changed(a: Record<string, string>, b: Record<string, string>): string[] {
  return STEPS.filter((s) => a[s] !== b[s]);
}

describe('step code closure', () => {
  const base = digests();

  it('gives each step its own digest, and the same input the same digests', () => {
    expect(new Set(Object.values(base)).size).toBe(STEPS.length);
    expect(digests()).toEqual(base);
  });

  it('editing one step body (or its decorators) changes that step only', () => {
    expect(changed(base, digests({ text: FLOW.replace('@step end() {}', '@step end() { console.log(1); }') }))).toEqual(['end']);
    expect(changed(base, digests({ text: FLOW.replace('this.total = inputs.length;', 'this.total = inputs.length + 1;') }))).toEqual(['gather']);
    expect(changed(base, digests({ text: FLOW.replace('@step report()', '@retry({ times: 1 }) @step report()') }))).toEqual(['report']);
  });

  it("comments, blank lines and indentation change nothing; a string literal's spaces do", () => {
    const cosmetic = FLOW.replace('/** Says it. */', '/** Says it differently,\n over lines. */\n\n').replace('    this.total', '        this.total').replace('@step end() {}', '// the end\n  @step end() { /* nothing */ }');
    expect(changed(base, digests({ text: cosmetic }))).toEqual([]);
    expect(changed(base, digests({ text: FLOW.replace("label = 'x'", "label = 'x '") }))).toEqual(STEPS);
    // A newline can end a statement (return\nx is not return x): it is kept as one.
    expect(changed(base, digests({ text: FLOW.replace('this.total = inputs.length;', 'this.total =\ninputs.length;') }))).toEqual(['gather']);
  });

  it("top-level code and other class members are every step's", () => {
    expect(changed(base, digests({ text: FLOW.replace('const FACTOR = 2;', 'const FACTOR = 3;') }))).toEqual(STEPS);
    expect(changed(base, digests({ text: FLOW.replace('items!: number[];', 'items!: number[];\n  extra = 1;') }))).toEqual(STEPS);
  });

  it('a helper module (and what it imports) belongs to the steps that name it; a side-effect import to all', () => {
    expect(changed(base, digests({ hashes: { ...HASHES, 'flows/lib/scale.ts': 's1' } }))).toEqual(['transform']);
    expect(changed(base, digests({ hashes: { ...HASHES, 'flows/lib/math.ts': 'a1' } }))).toEqual(['transform']);
    expect(changed(base, digests({ hashes: { ...HASHES, 'flows/lib/fmt.ts': 'm1' } }))).toEqual(['report']);
    expect(changed(base, digests({ hashes: { ...HASHES, 'flows/lib/setup.ts': 'u1' } }))).toEqual(STEPS);
  });

  it("a module named by shared code (a top-level helper) is every step's", () => {
    const text = FLOW.replace('const FACTOR = 2;', 'const FACTOR = scale(2);');
    const before = digests({ text });
    expect(changed(before, digests({ text, hashes: { ...HASHES, 'flows/lib/scale.ts': 's1' } }))).toEqual(STEPS);
  });

  it('reads the parameters field initializers use; `this` used otherwise means all of them', () => {
    const c = (text: string) => flowClosure({ file: 'flows/p.ts', text, steps: STEPS, params: ['n', 'label'], imports: IMPORTS, hashes: HASHES }).constructionParams;
    expect(c(FLOW)).toEqual(['n']);
    expect(c(FLOW.replace('doubled = this.n * FACTOR;', 'doubled = 2;'))).toEqual([]);
    expect(c(FLOW.replace('doubled = this.n * FACTOR;', 'doubled = this.helper();\n  helper() { return 1; }'))).toBe('all');
    expect(c(FLOW.replace('doubled = this.n * FACTOR;', "doubled = (this as any)['n'];"))).toBe('all');
  });

  it('falls back to the whole file for every step when it cannot find the steps', () => {
    const c = flowClosure({ file: 'flows/p.ts', text: 'export default class X {', steps: STEPS, params: [], imports: IMPORTS, hashes: HASHES });
    expect(new Set(c.steps.values()).size).toBe(1);
    expect(c.constructionParams).toBe('all');
  });
});
