import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunRecord, TaskRecord } from '../../src/metadata/records.js';
import { execa } from 'execa';
import { type CliResult, REPO, copyFlow, flow, tempProject } from '../helpers/cli.js';

// Integration tests of `flow run` on real flows (test/flows/*), real worker processes and a
// real store. Each test gets its own temp project; runs use --max-workers 2 (a 2-core budget).

interface GetJson {
  schema: string;
  run: string;
  step: string;
  task: string;
  name: string;
  hash: string;
  size: number;
  value: unknown;
}

const MiB = 1024 * 1024;

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

const runRecord = (dir: string, run: string) => readJson<RunRecord>(join(dir, '.flow/runs', run, 'run.json'));
const taskRecord = (dir: string, run: string, step: string, id: string) => readJson<TaskRecord>(join(dir, '.flow/runs', run, 'tasks', step, `${id}.json`));

/** Task ids recorded for a step, in split order. */
function taskIds(dir: string, run: string, step: string): string[] {
  const ids = readdirSync(join(dir, '.flow/runs', run, 'tasks', step))
    .filter((n) => n.endsWith('.json'))
    .map((n) => n.slice(0, -5));
  return ids.sort((a, b) => {
    const pa = a.split('.').map(Number);
    const pb = b.split('.').map(Number);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? -1) !== (pb[i] ?? -1)) return (pa[i] ?? -1) - (pb[i] ?? -1);
    return 0;
  });
}

/** `du -sb`-style: apparent bytes of every file under dir. */
function treeBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    total += st.isDirectory() ? treeBytes(p) : st.size;
  }
  return total;
}

/** The run id a successful `flow run` prints first on stdout. */
function runIdOf(r: CliResult): string {
  const id = r.stdout.split('\n')[0]!;
  expect(id, r.stdout + r.stderr).toMatch(/^run-\d+$/);
  return id;
}

async function runFlow(dir: string, file: string, extra: string[] = []): Promise<CliResult> {
  return flow(['run', `flows/${file}`, '--max-workers', '2', ...extra], { cwd: dir });
}

async function get(dir: string, path: string, name: string): Promise<GetJson> {
  const r = await flow(['get', path, name, '--json'], { cwd: dir });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as GetJson;
}

async function value(dir: string, path: string, name: string): Promise<unknown> {
  return (await get(dir, path, name)).value;
}

/** Several `flow get`s at once (separate processes): their values, in order. */
async function values(dir: string, ...specs: Array<[path: string, name: string]>): Promise<unknown[]> {
  return Promise.all(specs.map(([path, name]) => value(dir, path, name)));
}

describe('flow run: flow shapes', () => {
  it('linear: each step sees what the previous one stored; records chain parent to child', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'linear.ts');
    const r = await runFlow(dir, 'linear.ts');
    expect(r.exitCode, r.stderr).toBe(0);
    const run = runIdOf(r);
    expect(runRecord(dir, run)).toMatchObject({ status: 'ok', flow: 'LinearFlow', summary: { start: { ok: 1 }, double: { ok: 1 }, describe: { ok: 1 }, end: { ok: 1 } } });
    expect(taskRecord(dir, run, 'double', '0').parents).toEqual(['start/0']);
    expect(taskRecord(dir, run, 'describe', '0').parents).toEqual(['double/0']);
    expect(taskRecord(dir, run, 'end', '0').parents).toEqual(['describe/0']);
    const [result, logs] = await Promise.all([value(dir, run, 'result'), flow(['logs', `${run}/start/0`], { cwd: dir })]);
    expect(result).toEqual({ x: 21, doubled: 42, note: 'linear' });
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('start: x = 21');
  });

  it('branch + join: mergeArtifacts copies what the branches agree on and what only one set', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'branch-merge.ts');
    const r = await runFlow(dir, 'branch-merge.ts');
    expect(r.exitCode, r.stderr).toBe(0);
    const run = runIdOf(r);
    expect(taskRecord(dir, run, 'join', '0').parents).toEqual(['a/0', 'b/0']);
    expect(await values(dir, [run, 'seen'], [run, 'shared'], [run, 'left'], [run, 'right'], [run, 'base'])).toEqual([['a', 'b'], 'same', 1, 2, 'from-start']);
    // `who` was excluded from the merge: the join (and end) do not carry it.
    expect(Object.keys(taskRecord(dir, run, 'end', '0').artifacts)).not.toContain('who');
  });

  it('mergeArtifacts with a conflict fails the join with MERGE_CONFLICT naming the artifact (exit 1)', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'branch-merge.ts');
    const r = await runFlow(dir, 'branch-merge.ts', ['--clash']);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/join\/0.*MERGE_CONFLICT.*shared/);
    const rec = runRecord(dir, runIdOf(r));
    expect(rec.status).toBe('failed');
    expect(rec.error).toMatchObject({ code: 'MERGE_CONFLICT', task: 'join/0', step: 'join' });
    expect(rec.error!.message).toContain('shared');
    expect(taskRecord(dir, rec.id, 'join', '0').status).toBe('failed');
  });

  it('foreach over 100 splits: the join sees the inputs in split order', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'foreach-squares.ts');
    const r = await runFlow(dir, 'foreach-squares.ts', ['--n', '100']);
    expect(r.exitCode, r.stderr).toBe(0);
    const run = runIdOf(r);
    const expected = [...Array(100).keys()];
    const [squares, positions, total, square37] = await values(dir, [run, 'squares'], [run, 'positions'], [run, 'total'], [`${run}/work/37`, 'square']);
    expect(squares).toEqual(expected.map((x) => x * x));
    expect(positions).toEqual(expected);
    expect(total).toBe(expected.reduce((s, x) => s + x * x, 0));
    expect(square37).toBe(37 * 37);
    expect(taskIds(dir, run, 'work')).toEqual(expected.map(String));
    expect(taskRecord(dir, run, 'join', '0').parents).toEqual(expected.map((i) => `work/${i}`));
    expect(taskRecord(dir, run, 'work', '37')).toMatchObject({ status: 'ok', stack: [{ step: 'start', index: 37, count: 100 }] });
    expect(runRecord(dir, run).summary).toMatchObject({ start: { ok: 1 }, work: { tasks: 100, ok: 100 }, join: { ok: 1 }, end: { ok: 1 } });
  });

  it('nested foreach (2x3): task ids are outer.inner and both joins keep split order', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'nested-grid.ts');
    const r = await runFlow(dir, 'nested-grid.ts');
    expect(r.exitCode, r.stderr).toBe(0);
    const run = runIdOf(r);
    const [grid, label] = await values(dir, [run, 'grid'], [`${run}/inner/1.2`, 'label']);
    expect(grid).toEqual([
      ['0a@0', '0b@1', '0c@2'],
      ['1a@0', '1b@1', '1c@2'],
    ]);
    expect(label).toBe('1c@2');
    expect(taskIds(dir, run, 'outer')).toEqual(['0', '1']);
    expect(taskIds(dir, run, 'inner')).toEqual(['0.0', '0.1', '0.2', '1.0', '1.1', '1.2']);
    expect(taskIds(dir, run, 'joinCols')).toEqual(['0', '1']);
    expect(taskIds(dir, run, 'joinRows')).toEqual(['0']);
    expect(taskRecord(dir, run, 'inner', '1.2').stack).toEqual([
      { step: 'start', index: 1, count: 2 },
      { step: 'outer', index: 2, count: 3 },
    ]);
    expect(taskRecord(dir, run, 'joinCols', '1').parents).toEqual(['inner/1.0', 'inner/1.1', 'inner/1.2']);
  });

  it('foreach inside a branch: the inner join closes the foreach, the outer one the branch', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'foreach-in-branch.ts');
    const r = await runFlow(dir, 'foreach-in-branch.ts');
    expect(r.exitCode, r.stderr).toBe(0);
    const run = runIdOf(r);
    expect(await value(dir, run, 'parts')).toEqual({ fan: 60, single: 5 });
    expect(taskIds(dir, run, 'trial')).toEqual(['0', '1', '2']);
    expect(taskIds(dir, run, 'trialJoin')).toEqual(['0']);
    expect(taskRecord(dir, run, 'trialJoin', '0').parents).toEqual(['trial/0', 'trial/1', 'trial/2']);
    expect([...taskRecord(dir, run, 'join', '0').parents].sort()).toEqual(['single/0', 'trialJoin/0']);
  });

  it('async steps (start, foreach, join, end) are awaited before their artifacts are stored', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'async-steps.ts');
    const r = await runFlow(dir, 'async-steps.ts');
    expect(r.exitCode, r.stderr).toBe(0);
    const run = runIdOf(r);
    expect(await values(dir, [run, 'collected'], [run, 'finalNote'])).toEqual([[2, 4, 6], 'sum=12']);
  });
});

describe('flow files type-check', () => {
  it('every test flow compiles under strict tsc against the published types (e.g. mergeArtifacts(inputs) in a join)', async () => {
    const dir = await tempProject({}, { git: false });
    // The flows these runtime tests use (listed, so a deliberately broken fixture added elsewhere does not count).
    const files = [
      'train.ts',
      'linear.ts',
      'branch-merge.ts',
      'foreach-squares.ts',
      'nested-grid.ts',
      'foreach-in-branch.ts',
      'async-steps.ts',
      'param-types.ts',
      'big-buffer.ts',
      'module-state.ts',
      'seeded-random.ts',
      'bad-foreach.ts',
      'not-serializable.ts',
      'task-throws.ts',
      'task-exit.ts',
      'task-oom.ts',
      'task-timeout.ts',
      'retry-counter.ts',
      'catch-error.ts',
      'env-vars.ts',
      'resume-marker.ts',
      'client-flow.ts',
    ];
    expect(files.sort()).toEqual(
      readdirSync(join(REPO, 'test/flows'))
        .filter((f) => files.includes(f))
        .sort(),
    );
    for (const f of files) copyFlow(dir, f);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023', 'ESNext.Decorators'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(REPO, 'node_modules/@types')],
        },
        include: ['flows'],
      }),
    );
    const r = await execa(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: dir, reject: false });
    expect(String(r.stdout) + String(r.stderr)).toBe('');
    expect(r.exitCode).toBe(0);
  });
});

describe('flow run: parameters', () => {
  it('takes number, string, boolean and JSON-array parameters from the CLI, typed', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'param-types.ts');
    const [r, defaults] = await Promise.all([runFlow(dir, 'param-types.ts', ['--count', '7', '--label', 'hello world', '--verbose', '--layers', '[3,4,5]']), runFlow(dir, 'param-types.ts', ['--count=2.5', '--verbose', 'false'])]);
    expect(r.exitCode, r.stderr).toBe(0);
    const run = runIdOf(r);
    expect(runRecord(dir, run).params).toEqual({ count: 7, label: 'hello world', verbose: true, layers: [3, 4, 5] });
    expect(await value(dir, run, 'echo')).toEqual({
      count: 7,
      countType: 'number',
      label: 'hello world',
      labelType: 'string',
      verbose: true,
      verboseType: 'boolean',
      layers: [3, 4, 5],
      layersIsArray: true,
    });
    expect(defaults.exitCode, defaults.stderr).toBe(0);
    expect(runRecord(dir, runIdOf(defaults)).params).toEqual({ count: 2.5, label: 'default', verbose: false, layers: [8, 4] });
  });

  it('rejects a malformed JSON parameter before running (PARAM_TYPE, exit 2)', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'param-types.ts');
    const r = await runFlow(dir, 'param-types.ts', ['--layers', '[3,4']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/PARAM_TYPE.*--layers/s);
    expect(r.stdout).not.toMatch(/run-\d+/);
  });
});

describe('flow run: artifacts and task state', () => {
  it('a 50 MiB Buffer artifact is stored once across two runs', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'big-buffer.ts');
    const first = await runFlow(dir, 'big-buffer.ts', ['--quiet']);
    expect(first.exitCode, first.stderr).toBe(0);
    const afterFirst = treeBytes(join(dir, '.flow/objects'));
    expect(afterFirst).toBeGreaterThanOrEqual(50 * MiB);
    const second = await runFlow(dir, 'big-buffer.ts', ['--quiet']);
    expect(second.exitCode, second.stderr).toBe(0);
    const growth = treeBytes(join(dir, '.flow/objects')) - afterFirst;
    expect(growth).toBeLessThan(1 * MiB);
    const a = taskRecord(dir, runIdOf(first), 'start', '0').artifacts.blob!;
    const b = taskRecord(dir, runIdOf(second), 'start', '0').artifacts.blob!;
    expect(b.hash).toBe(a.hash);
    expect(await value(dir, runIdOf(second), 'blobBytes')).toBe(50 * MiB);
  });

  it('flow get --json of a 50 MiB Buffer artifact reports its size, promptly', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'big-buffer.ts');
    const r = await runFlow(dir, 'big-buffer.ts', ['--quiet']);
    expect(r.exitCode, r.stderr).toBe(0);
    const started = Date.now();
    const g = await flow(['get', runIdOf(r), 'blob', '--json'], { cwd: dir, timeout: 10_000 });
    expect(g.exitCode, `flow get took ${Date.now() - started} ms; ${g.stderr}`).toBe(0);
    const out = JSON.parse(g.stdout) as GetJson;
    expect(out.value).toMatchObject({ type: 'Buffer', bytes: 50 * MiB });
    // The size a user reads is the artifact's size, not that of the small object pointing at its bytes.
    expect(out.size).toBeGreaterThanOrEqual(50 * MiB);
  });

  it('module-level state does not leak between tasks, even when workers are reused', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'module-state.ts');
    const r = await runFlow(dir, 'module-state.ts');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await value(dir, runIdOf(r), 'seenAll')).toEqual(Array<number>(20).fill(1));
  });

  it('Math.random with --seed repeats exactly; another seed differs', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'seeded-random.ts');
    const results = await Promise.all(['42', '42', '7'].map((seed) => runFlow(dir, 'seeded-random.ts', ['--seed', seed, '--quiet'])));
    for (const r of results) expect(r.exitCode, r.stderr).toBe(0);
    const runs = results.map(runIdOf);
    const [a, b, c] = await Promise.all(runs.map((run) => get(dir, run, 'all')));
    expect(runRecord(dir, runs[0]!).seed).toBe(42);
    expect(b!.hash).toBe(a!.hash);
    expect(b!.value).toEqual(a!.value);
    expect(c!.hash).not.toBe(a!.hash);
    const all = a!.value as { first: number; draws: number[][] };
    // Tasks of one run get different streams (seeded by step and task index).
    const flat = [all.first, ...all.draws.flat()];
    expect(new Set(flat).size).toBe(flat.length);
    for (const x of flat) expect(x >= 0 && x < 1).toBe(true);
    // Every task's artifacts repeat, not only the joined value.
    for (const id of ['0', '1', '2']) {
      expect(taskRecord(dir, runs[1]!, 'draw', id).artifacts.draws!.hash).toBe(taskRecord(dir, runs[0]!, 'draw', id).artifacts.draws!.hash);
    }
  });
});

describe('flow run: bad inputs', () => {
  it('foreach over a non-iterable: FOREACH_NOT_ITERABLE on the task, exit 1', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'bad-foreach.ts');
    const r = await runFlow(dir, 'bad-foreach.ts', ['--mode', 'notIterable']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/start\/0.*FOREACH_NOT_ITERABLE.*this\.items.*start/);
    const rec = runRecord(dir, runIdOf(r));
    expect(rec).toMatchObject({ status: 'failed', error: { code: 'FOREACH_NOT_ITERABLE', step: 'start', artifact: 'items', task: 'start/0' } });
    expect(rec.error!.fix).toBeTruthy();
  });

  it('foreach over an empty list: FOREACH_EMPTY, exit 1', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'bad-foreach.ts');
    const r = await runFlow(dir, 'bad-foreach.ts', ['--mode', 'empty']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/FOREACH_EMPTY.*this\.items/);
    expect(runRecord(dir, runIdOf(r)).error).toMatchObject({ code: 'FOREACH_EMPTY', step: 'start', artifact: 'items' });
  });

  it('more splits than --max-num-splits: FOREACH_TOO_MANY naming the count and the limit, exit 1', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'bad-foreach.ts');
    const [r, ok] = await Promise.all([
      runFlow(dir, 'bad-foreach.ts', ['--n', '20', '--max-num-splits', '10']),
      runFlow(dir, 'bad-foreach.ts', ['--n', '10', '--max-num-splits', '10', '--quiet']), // at the limit it runs
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/FOREACH_TOO_MANY.*20.*10/);
    const rec = runRecord(dir, runIdOf(r));
    expect(rec.error).toMatchObject({ code: 'FOREACH_TOO_MANY', step: 'start' });
    expect(rec.summary!.work!.tasks).toBe(0);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(await value(dir, runIdOf(ok), 'all')).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
  });

  it('a function in an artifact: ARTIFACT_NOT_SERIALIZABLE naming step, artifact and path, exit 1', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'not-serializable.ts');
    const r = await runFlow(dir, 'not-serializable.ts');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/train\/0.*ARTIFACT_NOT_SERIALIZABLE/);
    expect(r.stderr).toContain('model.predict');
    expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace without --debug
    const rec = runRecord(dir, runIdOf(r));
    expect(rec.error).toMatchObject({ code: 'ARTIFACT_NOT_SERIALIZABLE', step: 'train', artifact: 'model', task: 'train/0' });
    expect(rec.error!.message).toMatch(/model.*train.*model\.predict.*function/);
  });

  it('flow get: unknown run (with a suggestion), unknown step, unknown task, unknown artifact: exit 2', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'linear.ts');
    const r = await runFlow(dir, 'linear.ts', ['--quiet']);
    expect(r.exitCode, r.stderr).toBe(0);
    const run = runIdOf(r);

    const [noRun, noRunJson, noStep, noTask, noArtifact] = await Promise.all([
      flow(['get', 'run-9', 'result'], { cwd: dir }),
      flow(['get', 'run-9', 'result', '--json'], { cwd: dir }),
      flow(['get', `${run}/doubel`, 'doubled'], { cwd: dir }),
      flow(['get', `${run}/double/7`, 'doubled'], { cwd: dir }),
      flow(['get', run, 'doubld'], { cwd: dir }),
    ]);
    expect(noRun.exitCode).toBe(2);
    expect(noRun.stderr).toMatch(/RUN_NOT_FOUND.*run-9/);
    expect(noRun.stderr).toContain(`Did you mean ${run}`);

    expect(noRunJson.exitCode).toBe(2);
    expect((JSON.parse(noRunJson.stdout) as { error: { code: string } }).error.code).toBe('RUN_NOT_FOUND');

    expect(noStep.exitCode).toBe(2);
    expect(noStep.stderr).toMatch(/STEP_NOT_FOUND.*doubel/);
    expect(noStep.stderr).toContain('Did you mean double');

    expect(noTask.exitCode).toBe(2);
    expect(noTask.stderr).toContain('TASK_NOT_FOUND');

    expect(noArtifact.exitCode).toBe(2);
    expect(noArtifact.stderr).toMatch(/ARTIFACT_NOT_FOUND.*doubld/);
    expect(noArtifact.stderr).toContain('Did you mean doubled');
    for (const e of [noRun, noStep, noTask, noArtifact]) expect(e.stderr).not.toMatch(/^\s+at /m);
  });
});
