import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyFlow, flow, tempProject } from '../helpers/cli.js';

const okFlow = (body = '') => `import { FlowSpec, step, param, retry } from 'flowrun';
export default class F extends FlowSpec {
  @param({ help: 'n' }) n = 1;
  x!: number;
  ${body}
  @step start() { this.x = this.n; this.next(this.end); }
  @step end() {}
}
`;

describe('flow show', () => {
  it('prints the documented JSON shape', async () => {
    const dir = await tempProject();
    const file = copyFlow(dir, 'train.ts');
    const r = await flow(['show', file, '--json'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout);
    expect(view).toMatchSnapshot();
  });

  it('prints steps in topological order with types in text mode', async () => {
    const dir = await tempProject();
    const file = copyFlow(dir, 'train.ts');
    const r = await flow(['show', file], { cwd: dir });
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split('\n');
    const stepLines = lines.slice(lines.indexOf('Steps') + 1).map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '));
    expect(stepLines).toEqual(['start foreach', 'fit linear', 'join join', 'end end']);
  });

  it('serves an unchanged file from the graph cache and re-reads an edited one', async () => {
    const dir = await tempProject({ 'f.ts': okFlow() });
    expect((await flow(['show', 'f.ts', '--json'], { cwd: dir })).exitCode).toBe(0);
    writeFileSync(join(dir, 'f.ts'), okFlow().replace('this.next(this.end)', 'this.next(this.missing)'));
    const r = await flow(['show', 'f.ts'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/GRAPH_UNKNOWN_STEP/);
  });
});

describe('flow check', () => {
  it('exits 0 on a valid flow', async () => {
    const dir = await tempProject({ 'f.ts': okFlow() });
    const r = await flow(['check', 'f.ts'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/no problems found/);
  });

  it('lists every problem and exits 2', async () => {
    const src = okFlow('@step orphan() { this.next(this.end); }').replace('this.next(this.end); }\n  @step end', 'this.next(this.ned); }\n  @step end');
    const dir = await tempProject({ 'f.ts': src });
    const r = await flow(['check', 'f.ts', '--json'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    const out = JSON.parse(r.stdout) as { errors: Array<{ code: string; line: number; step?: string; fix?: string }> };
    const codes = out.errors.map((e) => e.code).sort();
    // The real orphan only: end is cut off by the typo alone, and saying so again would be noise (#17).
    expect(codes).toEqual(['GRAPH_ORPHAN', 'GRAPH_UNKNOWN_STEP']);
    expect(out.errors.find((e) => e.code === 'GRAPH_ORPHAN')).toMatchObject({ step: 'orphan' });
    const unknown = out.errors.find((e) => e.code === 'GRAPH_UNKNOWN_STEP')!;
    expect(unknown).toMatchObject({ line: 6, step: 'start' });
    expect(unknown.fix).toMatch(/Did you mean this\.end\?/);
  });
});

describe('bad input', () => {
  const cases: Array<{ name: string; files: Record<string, string>; args: string[]; code: string; exit: number; mentions: RegExp[] }> = [
    { name: 'missing file', files: {}, args: ['show', 'nope.ts'], code: 'FLOW_FILE_NOT_FOUND', exit: 2, mentions: [/nope\.ts/] },
    { name: 'not a .ts or .js file', files: { 'f.py': 'x = 1' }, args: ['show', 'f.py'], code: 'FLOW_FILE_TYPE', exit: 2, mentions: [/f\.py/] },
    { name: 'no FlowSpec subclass', files: { 'f.ts': 'export const x = 1;\n' }, args: ['show', 'f.ts'], code: 'FLOW_CLASS_NOT_FOUND', exit: 2, mentions: [/f\.ts/, /FlowSpec/] },
    { name: 'syntax error', files: { 'f.ts': okFlow().replace('this.x = this.n;', 'this.x = = this.n;') }, args: ['show', 'f.ts'], code: 'FLOW_COMPILE_ERROR', exit: 2, mentions: [/f\.ts:6:\d+/] },
    { name: 'import of a missing module', files: { 'f.ts': `import { nothing } from 'no-such-package';\nconsole.log(nothing);\n${okFlow()}` }, args: ['check', 'f.ts'], code: 'FLOW_IMPORT_NOT_FOUND', exit: 2, mentions: [/no-such-package/, /f\.ts:1:/] },
    { name: 'import of a missing sibling', files: { 'f.ts': `import { nothing } from './gone.js';\nconsole.log(nothing);\n${okFlow()}` }, args: ['check', 'f.ts'], code: 'FLOW_IMPORT_NOT_FOUND', exit: 2, mentions: [/gone\.js/] },
    { name: 'decorator with an unknown option', files: { 'f.ts': okFlow().replace('@step start()', '@retry({ tmes: 2 }) @step start()') }, args: ['check', 'f.ts'], code: 'DECORATOR_INVALID', exit: 2, mentions: [/tmes/, /Did you mean 'times'/, /start/] },
    { name: 'decorator with an ill-typed option', files: { 'f.ts': okFlow().replace('@step start()', "@retry({ times: 'two' }) @step start()") }, args: ['check', 'f.ts'], code: 'DECORATOR_INVALID', exit: 2, mentions: [/times/, /number/] },
    { name: 'a graph rule (cycle)', files: { 'f.ts': okFlow('@step a() { this.next(this.b); }\n  @step b() { this.next(this.a); }').replace('this.next(this.end); }\n  @step end', 'this.next(this.a); }\n  @step end') }, args: ['check', 'f.ts'], code: 'GRAPH_CYCLE', exit: 2, mentions: [/a->b->a/] },
    { name: '.flowrc with invalid JSON', files: { 'f.ts': okFlow(), '.flowrc': '{ "store": ' }, args: ['show', 'f.ts'], code: 'CONFIG_INVALID', exit: 2, mentions: [/\.flowrc/, /JSON/] },
    { name: '.flowrc with an unknown key', files: { 'f.ts': okFlow(), '.flowrc': '{ "stor": ".flow" }' }, args: ['show', 'f.ts'], code: 'CONFIG_INVALID', exit: 2, mentions: [/'stor'/, /Did you mean 'store'/] },
    { name: '.flowrc with a wrong type', files: { 'f.ts': okFlow(), '.flowrc': '{ "mirror": { "autoPush": "yes" } }' }, args: ['show', 'f.ts'], code: 'CONFIG_INVALID', exit: 2, mentions: [/mirror\.autoPush/] },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.code}, exit ${c.exit}, no stack trace`, async () => {
      const dir = await tempProject(c.files, { git: false });
      const r = await flow(c.args, { cwd: dir });
      expect(r.exitCode).toBe(c.exit);
      expect(r.stderr).toMatch(new RegExp(`Error ${c.code}`));
      for (const m of c.mentions) expect(r.stderr).toMatch(m);
      expect(r.stderr).toMatch(/Fix: /);
      expect(r.stderr).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
      const json = await flow([...c.args, '--json'], { cwd: dir });
      expect(json.exitCode).toBe(c.exit);
      expect(JSON.parse(json.stdout).error.code).toBe(c.code);
    });
  }

  it('--debug adds the stack trace', async () => {
    const dir = await tempProject({}, { git: false });
    const r = await flow(['show', 'nope.ts', '--debug'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^\s+at .*:\d+:\d+/m);
  });

  it('an environment override that does not parse is a config error', async () => {
    const dir = await tempProject({ 'f.ts': okFlow() }, { git: false });
    const r = await flow(['show', 'f.ts'], { cwd: dir, env: { FLOW_MAX_WORKERS: 'many' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/FLOW_MAX_WORKERS/);
  });
});
