import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { type CliResult, copyFlow, flow, tempProject } from '../helpers/cli.js';

// The client API (DESIGN §6) as a user's script uses it: a plain ESM script in the project that
// imports flowrun from node_modules (a symlink to the built package) and reads runs from the
// project's store.

const SCRIPT = `
import { Flow, Run } from 'flowrun';

const catching = async (fn) => { try { await fn(); return null; } catch (e) { return { code: e.code, message: e.message, fix: e.fix }; } };

const flow = Flow.get('ClientFlow');
const run = await flow.latestSuccessfulRun();
const latest = await flow.latestRun();
const tasks = await run.step('fit').tasks();
const byId = await Run.get(run.id);
const failed = await Run.get(latest.id);
const out = {
  id: run.id,
  status: run.status,
  successful: run.successful,
  flow: run.flow,
  params: run.params,
  best: await run.artifact('best'),
  splits: await run.artifact('splits'),
  steps: run.steps().map((s) => s.name),
  tasks: await Promise.all(tasks.map(async (t) => ({
    id: t.id, step: t.step, status: t.status, pathspec: t.pathspec,
    score: await t.artifact('score'), names: t.artifactNames(), logs: await t.logs(),
  }))),
  byId: { id: byId.id, status: byId.status, best: await byId.artifact('best') },
  latest: { id: latest.id, status: failed.status, params: failed.params, error: failed.record.error?.code },
  failedFitScores: await Promise.all((await failed.step('fit').tasks()).map((t) => t.artifact('score'))),
  runs: (await flow.runs()).map((r) => r.id),
  noFlow: (await Flow.get('NoSuchFlow').latestSuccessfulRun()) ?? null,
  errors: {
    run: await catching(() => Run.get('run-99')),
    step: await catching(() => run.step('fitt')),
    artifact: await catching(() => run.artifact('bestt')),
    taskArtifact: await catching(() => tasks[0].artifact('nope')),
  },
};
console.log(JSON.stringify(out));
`;

interface ClientOut {
  id: string;
  status: string;
  successful: boolean;
  flow: string;
  params: Record<string, unknown>;
  best: number;
  splits: number[];
  steps: string[];
  tasks: Array<{ id: string; step: string; status: string; pathspec: string; score: number; names: string[]; logs: { stdout: string; stderr: string } }>;
  byId: { id: string; status: string; best: number };
  latest: { id: string; status: string; params: Record<string, unknown>; error?: string };
  failedFitScores: number[];
  runs: string[];
  noFlow: null;
  errors: Record<'run' | 'step' | 'artifact' | 'taskArtifact', { code: string; message: string; fix?: string } | null>;
}

function runIdOf(r: CliResult): string {
  const id = r.stdout.split('\n')[0]!;
  expect(id, r.stdout + r.stderr).toMatch(/^run-\d+$/);
  return id;
}

describe('client API from a user script', () => {
  it('Flow.get().latestSuccessfulRun(), run.artifact, step tasks with artifacts, logs and status, run.params, Run.get', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'client-flow.ts');
    writeFileSync(join(dir, 'read-runs.mjs'), SCRIPT);
    const ok = await flow(['run', 'flows/client-flow.ts', '--alpha', '0.5', '--max-workers', '2', '--quiet'], { cwd: dir });
    expect(ok.exitCode, ok.stderr).toBe(0);
    const bad = await flow(['run', 'flows/client-flow.ts', '--alpha', '2', '--fail', '--max-workers', '2', '--quiet'], { cwd: dir });
    expect(bad.exitCode).toBe(1);
    const okRun = runIdOf(ok);
    const badRun = runIdOf(bad);

    const r = await execa(process.execPath, ['read-runs.mjs'], { cwd: dir, reject: false });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const out = JSON.parse(String(r.stdout)) as ClientOut;

    expect(out).toMatchObject({ id: okRun, status: 'ok', successful: true, flow: 'ClientFlow', params: { alpha: 0.5, fail: false }, best: 1.5, splits: [1, 2, 3] });
    expect(out.steps).toEqual(['start', 'fit', 'join', 'end']);
    expect(out.tasks.map((t) => [t.id, t.step, t.status, t.pathspec, t.score])).toEqual([
      ['0', 'fit', 'ok', `${okRun}/fit/0`, 0.5],
      ['1', 'fit', 'ok', `${okRun}/fit/1`, 1],
      ['2', 'fit', 'ok', `${okRun}/fit/2`, 1.5],
    ]);
    expect(out.tasks[0]!.names).toContain('score');
    expect(out.tasks[0]!.names).toContain('splits');
    out.tasks.forEach((t, i) => {
      expect(t.logs.stdout).toBe(`fitting split ${i} on ${i + 1}\n`);
      expect(t.logs.stderr).toBe('');
    });
    expect(out.byId).toEqual({ id: okRun, status: 'ok', best: 1.5 });
    expect(out.latest).toEqual({ id: badRun, status: 'failed', params: { alpha: 2, fail: true }, error: 'TASK_FAILED' });
    expect(out.failedFitScores).toEqual([2, 4, 6]);
    expect(out.runs).toEqual([badRun, okRun]); // newest first
    expect(out.noFlow).toBeNull();
    expect(out.errors.run).toMatchObject({ code: 'RUN_NOT_FOUND' });
    expect(out.errors.step).toMatchObject({ code: 'STEP_NOT_FOUND' });
    expect(out.errors.step!.fix).toContain('fit');
    expect(out.errors.artifact).toMatchObject({ code: 'ARTIFACT_NOT_FOUND' });
    expect(out.errors.artifact!.fix).toContain('best');
    expect(out.errors.taskArtifact).toMatchObject({ code: 'ARTIFACT_NOT_FOUND' });
  });

  it('reads the store named by the store option or FLOW_STORE, from another package directory', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'client-flow.ts');
    const ok = await flow(['run', 'flows/client-flow.ts', '--max-workers', '2', '--quiet'], { cwd: dir });
    expect(ok.exitCode, ok.stderr).toBe(0);
    const store = join(dir, '.flow');
    // A package of its own: its default store would be elsewhere/.flow, not the project's.
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'package.json'), JSON.stringify({ name: 'elsewhere', private: true, type: 'module' }));
    writeFileSync(
      join(elsewhere, 'read-store.mjs'),
      `
import { Flow, Run } from 'flowrun';
const [storeArg, id] = process.argv.slice(2);
const out = {};
if (storeArg !== '-') out.option = await (await Flow.get('ClientFlow', { store: storeArg }).latestSuccessfulRun()).artifact('best');
try { out.env = await (await Run.get(id)).artifact('best'); } catch (e) { out.env = e.code; }
console.log(JSON.stringify(out));
`,
    );
    const node = (args: string[], env: Record<string, string>) => execa(process.execPath, ['read-store.mjs', ...args], { cwd: elsewhere, reject: false, env, extendEnv: false });
    const [withEnv, withoutEnv] = await Promise.all([node([store, runIdOf(ok)], { FLOW_STORE: store }), node(['-', runIdOf(ok)], {})]);
    expect(withEnv.exitCode, String(withEnv.stderr)).toBe(0);
    expect(JSON.parse(String(withEnv.stdout))).toEqual({ option: 3, env: 3 });
    expect(withoutEnv.exitCode, String(withoutEnv.stderr)).toBe(0);
    expect(JSON.parse(String(withoutEnv.stdout))).toEqual({ env: 'RUN_NOT_FOUND' });
  });
});
