import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { copyFlow, flow, tempProject } from '../helpers/cli.js';
import { compareValues, compareShapes } from '../../src/diff/values.js';

// Issue #17 item 2: flow diff says why runs differ. Runs of test/flows/diff-why.ts: run-1 (seed 1),
// run-2 (seed 2, alpha 0.2, 5 more rows in the big artifact), run-3 (seed 1, its fit fails, run from flows/).

interface Diff {
  seed: { from: number; to: number };
  env: Array<{ what: string; from: string | null; to: string | null }>;
  differs: string[];
  seedOnly: string[];
  verdict: string;
  steps: Array<{ step: string; why?: Array<{ kind: string; name?: string }>; artifacts: Array<{ task: string; artifact: string; kind: string; detail?: string; fields?: Array<{ path: string; from?: string; to?: string }> }> }>;
}

let dir = '';
const run = async (args: string[]) => {
  const r = await flow(['run', 'flows/diff-why.ts', '-q', ...args], { cwd: dir });
  return r;
};

beforeAll(async () => {
  dir = await tempProject({ 'rows.csv': '1,2\n2,4\n3,6\n4,8\n5,10\n' });
  copyFlow(dir, 'diff-why.ts');
  expect((await run(['--seed', '1'])).exitCode).toBe(0);
  expect((await run(['--seed', '2', '--alpha', '0.2', '--extra', '5'])).exitCode).toBe(0);
  // From another folder: the tasks' working directory is a recorded input too.
  const failed = await flow(['run', 'diff-why.ts', '-q', '--seed', '1', '--fail', '--data', '../rows.csv'], { cwd: join(dir, 'flows') });
  expect(failed.exitCode, failed.stderr).toBe(1);
});

describe('flow diff says why (#17 item 2)', () => {
  it('names the seed, and the steps that differ only because of it, in text and JSON', async () => {
    const json = JSON.parse((await flow(['diff', 'run-1', 'run-2', '--json'], { cwd: dir })).stdout) as Diff;
    expect(json.seed).toEqual({ from: 1, to: 2 });
    expect(json.differs).toEqual(['params', 'seed', 'artifacts']);
    expect(json.seedOnly).toEqual(['start']);
    const why = Object.fromEntries(json.steps.filter((s) => s.why).map((s) => [s.step, s.why]));
    expect(why).toEqual({
      start: [{ kind: 'seed' }],
      prep: [{ kind: 'param', name: 'alpha' }],
      fit: [{ kind: 'param', name: 'alpha' }, { kind: 'seed' }],
      join: [{ kind: 'param', name: 'alpha' }, { kind: 'seed' }],
      end: [{ kind: 'param', name: 'extra' }],
    });
    expect(json.verdict).toContain('start differs only because the seed does (1 → 2)');

    const text = (await flow(['diff', 'run-1', 'run-2'], { cwd: dir })).stdout;
    expect(text).toMatch(/^seed\s+1 → 2/m);
    expect(text).toMatch(/^ {2}start\s+1 artifact change\s+\(only the seed differs for it/m);
    expect(text).toMatch(/^ {2}prep\s+1 artifact change\s+\(because of: param alpha\)/m);
    expect(text).toMatch(/^ {2}fit\s+4 artifact changes\s+\(because of: param alpha; seed\)/m);
  });

  it('shows small objects field by field and big values by shape', async () => {
    const json = JSON.parse((await flow(['diff', 'run-1', 'run-2', '--json'], { cwd: dir })).stdout) as Diff;
    const fit = json.steps.find((s) => s.step === 'fit')!.artifacts.find((a) => a.task === 'fit/0' && a.artifact === 'model')!;
    // Only fields that differ are listed (b comes from the shuffled order: it may or may not).
    expect(fit.fields?.map((f) => f.path)).toEqual(expect.arrayContaining(['.w', '.lam']));
    for (const f of fit.fields!) expect(f.from).not.toBe(f.to);
    expect(fit.detail).toMatch(/^w: 0\.909\d* → 0\.833\d*, (b: [\d.]+ → [\d.]+, )?lam: 0\.1 → 0\.2$/);
    const big = json.steps.find((s) => s.step === 'end')!.artifacts.find((a) => a.artifact === 'big')!;
    expect(big.detail).toBe('array[20000] of number → array[20005] of number');
  });

  it("does not list what a task inherits as added when the other run's task failed", async () => {
    const json = JSON.parse((await flow(['diff', 'run-3', 'run-1', '--json'], { cwd: dir })).stdout) as Diff;
    const fit = json.steps.find((s) => s.step === 'fit')!;
    expect(fit.artifacts.map((a) => `${a.task} ${a.artifact} ${a.kind}`).sort()).toEqual(['fit/0 model added', 'fit/0 score added', 'fit/1 model added', 'fit/1 score added']);
    expect(json.env).toEqual([{ what: 'working directory', from: 'flows', to: '.' }]);
  });

  it('same runs: the seed is identical and nothing is explained', async () => {
    const text = (await flow(['diff', 'run-1', 'run-1'], { cwd: dir })).stdout;
    expect(text).toMatch(/^seed\s+identical \(1\)/m);
    expect(text).toContain('are the same: code, params, seed, environment and every artifact hash match');
  });
});

describe('value comparison (pure)', () => {
  it('lists only the fields that differ, nested, with added and removed keys', () => {
    const r = compareValues({ a: 1, b: { c: 2, d: [1, 2] }, gone: true }, { a: 1, b: { c: 3, d: [1, 2] }, added: 'x' });
    expect(r.fields).toEqual([
      { path: '.b.c', from: '2', to: '3' },
      { path: '.gone', from: 'true' },
      { path: '.added', to: '"x"' },
    ]);
    expect(r.detail).toBe('b.c: 2 → 3, gone: true → (none), added: (none) → "x"');
  });

  it('keeps short scalar lists whole, counts what it does not list, and compares shapes', () => {
    expect(compareValues([1, 2, 3], [1, 2, 4]).detail).toBe('[ 1, 2, 3 ] → [ 1, 2, 4 ]');
    const many = compareValues(
      Array.from({ length: 20 }, (_, i) => ({ i: i + 1 })),
      Array.from({ length: 20 }, (_, i) => ({ i: -(i + 1) })),
    );
    expect(many.fields).toHaveLength(8);
    expect(many.fields![0]).toEqual({ path: '[0].i', from: '1', to: '-1' });
    expect(many.detail).toMatch(/, … 12 more$/);
    expect(compareShapes(new Float64Array(4), new Float64Array(4), { from: 10, to: 10 })).toBe('same shape, Float64Array[4]; other values (10 B → 10 B)');
    expect(compareShapes({ a: 1 }, [1], { from: 1, to: 1 })).toBe('object{a} → array[1] of number');
  });
});
