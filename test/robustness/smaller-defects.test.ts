import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Run } from '../../src/client/client.js';
import { formatError, table } from '../../src/errors/format.js';
import { renderRuns } from '../../src/cli/views.js';
import { FlowError, isFlowError } from '../../src/errors/index.js';
import { extractGraph } from '../../src/graph/extract.js';
import { measureNesting, MAX_SOURCE_NESTING } from '../../src/graph/nesting.js';
import { validateGraph } from '../../src/graph/validate.js';
import type { FlowGraph } from '../../src/graph/types.js';
import { parseParams } from '../../src/runtime/params.js';
import type { RunRecord } from '../../src/metadata/records.js';
import { LocalStore } from '../../src/store/local.js';
import { copyFlow, flow, tempDir, tempProject } from '../helpers/cli.js';

// Issue #13 item 7: the smaller defects an adversarial test of f3d2067 found, one test each.
// (.flowrc prototype keys and the .flowrc/env limits are in test/cli/config.test.ts; a file name
// with a backslash in test/package/snapshot.test.ts.)

const HEAD = `import { FlowSpec, step, param } from 'flowrun';\n`;
const flowFile = (body: string) => `${HEAD}export default class F extends FlowSpec {\n${body}\n}\n`;
/** Control characters a terminal acts on: C0 (but \n), DEL, C1, bidi overrides. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** The run ids of the shared project's store. */
function runIds(): string[] {
  return readdirSync(join(dir, '.flow/runs'))
    .filter((n) => /^run-\d+$/.test(n))
    .sort();
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isFlowError(e)) return e.code;
    throw e;
  }
  return '(no error)';
}

/** One project with one finished run of flows/linear.ts, shared by the CLI checks below. */
let dir: string;
beforeAll(async () => {
  dir = await tempProject();
  copyFlow(dir, 'linear.ts');
  const r = await flow(['run', 'flows/linear.ts', '-q'], { cwd: dir });
  expect(r.exitCode, r.stderr).toBe(0);
}, 60_000);

describe('own-property lookups', () => {
  it('flow get RUN constructor / __proto__ / toString is ARTIFACT_NOT_FOUND (exit 2), at run, step and task level', async () => {
    for (const args of [
      ['run-1', 'constructor'],
      ['run-1', '__proto__'],
      ['run-1', 'toString'],
      ['run-1/start', 'hasOwnProperty'],
      ['run-1/end/0', 'valueOf'],
    ]) {
      const r = await flow(['get', ...args], { cwd: dir });
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/ARTIFACT_NOT_FOUND/);
      expect(r.stderr).toContain(args[1]);
    }
    const run = await Run.open(LocalStore.open(join(dir, '.flow')), 'run-1');
    await expect(run.artifact('constructor')).rejects.toMatchObject({ code: 'ARTIFACT_NOT_FOUND' });
    await expect((await run.step('end').tasks())[0]!.artifact('__proto__')).rejects.toMatchObject({ code: 'ARTIFACT_NOT_FOUND' });
  }, 30_000);

  it('a decorator option named constructor is an unknown option, not accepted silently', async () => {
    const r = await flow(['run', 'flows/linear.ts', '--with', 'retry:constructor=1'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/unknown option 'constructor'/);
    expect(runIds()).toEqual(['run-1']);
  }, 30_000);

  it('a step, artifact or parameter named like an Object.prototype member is refused before anything runs', () => {
    const cases: Array<[string, string]> = [
      [flowFile('  @step start() { this.next(this.toString); }\n  @step toString() { this.next(this.end); }\n  @step end() {}'), 'GRAPH_STEP_NAME'],
      [flowFile('  @step start() { this.valueOf = 1; this.next(this.end); }\n  @step end() {}'), 'ARTIFACT_RESERVED_NAME'],
      [flowFile('  @param() hasOwnProperty = 1;\n  @step start() { this.next(this.end); }\n  @step end() {}'), 'PARAM_NAME_CLASH'],
    ];
    for (const [src, code] of cases) {
      const { graph, errors } = extractGraph('f.ts', src);
      const all = [...errors, ...(graph ? validateGraph(graph) : [])];
      expect(
        all.map((e) => e.code),
        src,
      ).toContain(code);
    }
  });
});

describe('parameters', () => {
  const graph = {
    file: 'f.ts',
    flow: 'F',
    params: [
      { name: 'alpha', type: 'number', line: 3, default: 0.1 },
      { name: 'learningRate', type: 'number', line: 4, default: 1 },
    ],
  } as unknown as FlowGraph;

  it('a number parameter takes decimal notation only: 0x10, 0b11, 0o7, " 5 ", "" and Infinity are PARAM_TYPE', () => {
    for (const text of ['0x10', '0X1f', '0b11', '0o7', ' 5 ', '5 ', '', 'Infinity', '1e400', '1_000']) {
      expect(
        codeOf(() => parseParams(graph, ['--alpha', text])),
        JSON.stringify(text),
      ).toBe('PARAM_TYPE');
      expect(
        codeOf(() => parseParams(graph, [`--alpha=${text}`])),
        JSON.stringify(text),
      ).toBe('PARAM_TYPE');
    }
    for (const [text, value] of [
      ['16', 16],
      ['-0.5', -0.5],
      ['.5', 0.5],
      ['+2', 2],
      ['1e3', 1000],
      ['1.', 1],
      ['2.5E-3', 0.0025],
    ] as const) {
      expect(parseParams(graph, ['--alpha', text]).alpha, text).toBe(value);
    }
  });

  it('a parameter given twice is PARAM_REPEATED, under either spelling of its name', () => {
    for (const argv of [
      ['--alpha', '1', '--alpha', '2'],
      ['--alpha=1', '--alpha', '1'],
      ['--learning-rate', '1', '--learningRate', '2'],
    ]) {
      expect(
        codeOf(() => parseParams(graph, argv)),
        argv.join(' '),
      ).toBe('PARAM_REPEATED');
    }
  });

  it('through the CLI: --count 0x10 and a repeated --count stop the run with exit 2, before a run id exists', async () => {
    copyFlow(dir, 'param-types.ts');
    for (const args of [
      ['--count', '0x10'],
      ['--count', '1', '--count', '2'],
    ]) {
      const r = await flow(['run', 'flows/param-types.ts', ...args], { cwd: dir });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(args.length === 2 ? /PARAM_TYPE.*--count expects a number, got "0x10"/s : /PARAM_REPEATED.*--count is given twice/s);
    }
    const tooMany = await flow(['run', 'flows/param-types.ts', '--max-workers', '5000'], { cwd: dir });
    expect(tooMany.exitCode).toBe(2);
    expect(runIds()).toEqual(['run-1']);
  }, 60_000);
});

describe('deeply nested source', () => {
  const nestedIfs = (n: number) => `let x = this.x;\n${'if (x > 0) {\n'.repeat(n)}x++;\n${'}\n'.repeat(n)}this.x = x;`;

  it('3,000 nested ifs: flow run gives FLOW_COMPILE_ERROR (exit 2) naming the file and line, no stack overflow, no run', async () => {
    writeFileSync(join(dir, 'deep.ts'), flowFile(`  x = 1;\n  @step start() {\n${nestedIfs(3000)}\n    this.next(this.end);\n  }\n  @step end() {}`));
    const r = await flow(['run', 'deep.ts'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/FLOW_COMPILE_ERROR at deep\.ts:\d+:\d+/);
    expect(r.stderr).not.toMatch(/Maximum call stack|RangeError|Internal error|\n\s+at /);
    expect(runIds()).toEqual(['run-1']);
  }, 30_000);

  it('shapes that crash the native parser (10,000 nested ternaries, unbraced ifs, arrows, else-ifs) are refused, not a SIGSEGV', async () => {
    const bodies = [`this.x = ${'this.x ? 1 : '.repeat(10_000)}2;`, `${'if (this.x) '.repeat(10_000)}this.x++;`, `const f = ${'(a) => '.repeat(10_000)}1;`, `if (this.x) { this.x = 1; }${' else if (this.x) { this.x = 1; }'.repeat(10_000)}`];
    for (const body of bodies) {
      const src = flowFile(`  x = 1;\n  @step start() {\n${body}\n    this.next(this.end);\n  }\n  @step end() {}`);
      expect(measureNesting(src).depth, body.slice(0, 40)).toBeGreaterThan(MAX_SOURCE_NESTING);
      expect(extractGraph('f.ts', src).errors.map((e) => e.code)).toEqual(['FLOW_COMPILE_ERROR']);
    }
    writeFileSync(join(dir, 'ternary.ts'), flowFile(`  x = 1;\n  @step start() {\n${bodies[0]}\n    this.next(this.end);\n  }\n  @step end() {}`));
    const r = await flow(['check', 'ternary.ts'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain('FLOW_COMPILE_ERROR');
  }, 30_000);

  it('ordinary code is far below the limit, and long flat code (sequential ifs, long sums, big literals) is not "deep"', () => {
    const flat = ['if (a) { b(); }\n'.repeat(5000), `const s = ${Array.from({ length: 5000 }, (_, i) => `'p${i}'`).join(' + ')};`, `const o = { ${Array.from({ length: 5000 }, (_, i) => `k${i}: c ? ${i} : 0`).join(', ')} };`, `const re = /[({[]+/g; const t = \`\${a}(\${b}[\`; const q = '((((';`];
    for (const src of flat) expect(measureNesting(src).depth, src.slice(0, 30)).toBeLessThan(10);
    expect(measureNesting(readFileSync(join(dir, 'flows/linear.ts'), 'utf8')).depth).toBeLessThan(10);
  });
});

describe('store edge cases', () => {
  it("a directory in an object's place: flow gc neither fails nor deletes it; fsck names it", async () => {
    const fake = `ab${'c'.repeat(62)}`;
    const place = join(dir, '.flow/objects/ab', fake);
    mkdirSync(join(place, 'inside'), { recursive: true });
    execFileSync('touch', ['-d', '2020-01-01', place, join(place, 'inside')]);
    for (const args of [['gc', '--dry-run'], ['gc']]) {
      const r = await flow(args, { cwd: dir });
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stderr).not.toMatch(/Internal error/);
    }
    expect(existsSync(join(place, 'inside'))).toBe(true);
    const fsck = await flow(['fsck'], { cwd: dir });
    expect(fsck.stdout + fsck.stderr).toContain(fake);
    execFileSync('rm', ['-rf', place]);
  }, 30_000);

  describe('a store on a read-only file system is STORE_PERMISSION', () => {
    const mounts: string[] = [];
    const dirs: string[] = [];
    // Not tempDir(): its clean-up runs before afterAll, while the mounts are still busy.
    const mountPoint = (): string => {
      const d = mkdtempSync(join(tmpdir(), 'flowrun-ro-'));
      dirs.push(d);
      return d;
    };
    afterAll(() => {
      for (const m of mounts.reverse()) {
        try {
          execFileSync('umount', [m]);
        } catch {
          /* already gone */
        }
      }
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    /** Mounts (as root) or reports why it cannot; under CI a missing capability fails the test. */
    function mountReadOnly(args: string[], target: string): boolean {
      try {
        execFileSync('mount', [...args, target], { stdio: 'pipe' });
        mounts.push(target);
        return true;
      } catch (e) {
        if (process.env.CI === 'true') throw new Error(`cannot mount a read-only file system here (needed for this test): ${String(e)}`);
        return false;
      }
    }

    it('a new store, and an existing one mounted read-only: flow run exits 3 with STORE_PERMISSION; reads still work', async (ctx) => {
      const empty = mountPoint();
      if (!mountReadOnly(['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs'], empty)) return ctx.skip('mount is not permitted (not root, or no CAP_SYS_ADMIN)');
      const copy = join(tempDir(), 'store-copy');
      execFileSync('cp', ['-a', join(dir, '.flow'), copy]);
      const ro = mountPoint();
      expect(mountReadOnly(['--bind', copy], ro)).toBe(true);
      execFileSync('mount', ['-o', 'remount,ro,bind', ro]);

      expect(codeOf(() => LocalStore.open(join(empty, 'store')))).toBe('STORE_PERMISSION');
      expect(codeOf(() => LocalStore.open(ro).putObjectSync(Buffer.from('new object')))).toBe('STORE_PERMISSION');
      expect(codeOf(() => LocalStore.open(ro).createRecordSync('runs/run-9/claim.json', {}))).toBe('STORE_PERMISSION');

      for (const store of [join(empty, 'store'), ro]) {
        const r = await flow(['run', 'flows/linear.ts'], { cwd: dir, env: { FLOW_STORE: store } });
        expect(r.exitCode, r.stderr).toBe(3);
        expect(r.stderr).toMatch(/STORE_PERMISSION.*read-only file system/s);
        expect(r.stderr).not.toMatch(/STORE_IO|ENOENT|Internal error/);
      }
      const runs = await flow(['runs'], { cwd: dir, env: { FLOW_STORE: ro } });
      expect(runs.exitCode, runs.stderr).toBe(0);
      expect(runs.stdout).toContain('run-1');
    }, 60_000);
  });
});

describe('names, tags and paths on a terminal', () => {
  const hostile = 'x\u001b[2J\u001b]0;pwned\u0007\u009b31m\u202eevil\nline\r';

  it('flow runs, flow code and error messages show control characters escaped and long values cut', async () => {
    const tag = `${hostile}${'t'.repeat(5000)}`;
    const r = await flow(['run', 'flows/linear.ts', '-q', '--tag', tag], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    writeFileSync(join(dir, `odd${'\u001b'}[31mname.txt`), 'x');
    const r2 = await flow(['run', 'flows/linear.ts', '-q'], { cwd: dir });
    expect(r2.exitCode, r2.stderr).toBe(0);
    const runs = await flow(['runs'], { cwd: dir });
    const code = await flow(['code', 'run-3'], { cwd: dir });
    const missing = await flow(['get', 'run-1', hostile], { cwd: dir });
    expect(missing.exitCode).toBe(2);
    for (const out of [runs.stdout, code.stdout, missing.stderr]) {
      expect(out).not.toMatch(RAW_CONTROL);
      for (const line of out.split('\n')) expect(line.length, line.slice(0, 80)).toBeLessThan(2200);
    }
    expect(runs.stdout).toContain('x\\x1b[2J\\x1b]0;pwned\\x07'); // the tags column is cut at 40 characters
    expect(runs.stdout).toContain('…');
    expect(code.stdout).toContain('odd\\x1b[31mname.txt');
  }, 60_000);

  it('the renderers escape every field they take from a record', () => {
    const rec = { id: 'run-7', flow: `Flow${hostile}`, status: 'ok', started: '2026-01-01T00:00:00.000Z', durationMs: 5, git: null, tags: [hostile, 'y'.repeat(1000)] } as unknown as RunRecord;
    const out = renderRuns([rec]);
    expect(out).not.toMatch(RAW_CONTROL);
    expect(out.split('\n').every((l) => l.length < 400)).toBe(true);
    expect(table([[hostile]])[0]).toBe('x\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m\\u202eevil\\nline\\r');
    const err = formatError(new FlowError('ARTIFACT_NOT_FOUND', `Run run-1 has no artifact ${hostile}${'z'.repeat(10_000)}.`, { fix: `Did you mean ${hostile}?` }));
    expect(err).not.toMatch(RAW_CONTROL);
    expect(err.length).toBeLessThan(4500);
  });
});
