import { describe, expect, it } from 'vitest';
import { diffRuns } from '../../src/diff/diff.js';
import { FLOW_TEXT, file, graphOf, pkg, trainRun } from './views.js';

// Unit tests of the pure run comparison: the CLI tests (test/repro/diff-why.test.ts) reach it
// only through two spawned runs and `flow diff`; here the records are built in memory.

const changes = (d: ReturnType<typeof diffRuns>, step: string) => d.steps.find((s) => s.step === step)!.artifacts.map((c) => `${c.task} ${c.artifact} ${c.kind}`);

describe('diffRuns', () => {
  it('identical runs: nothing differs and the verdict says they are the same', () => {
    const d = diffRuns(trainRun({ id: 'run-1' }), trainRun({ id: 'run-2' }));
    expect(d.differs).toEqual([]);
    expect(d.verdict).toBe('run-1 and run-2 are the same: code, params, seed, environment and every artifact hash match');
    expect(d.params).toEqual([]);
    expect(d.env).toEqual([]);
    expect(d.seed).toEqual({ from: 1, to: 1 });
    expect(d.seedOnly).toEqual([]);
    expect(d.code).toMatchObject({ packageSame: true, added: [], removed: [], changed: [] });
    expect(d.steps.map((s) => s.step)).toEqual(['start', 'prep', 'fit', 'join', 'end']);
    for (const s of d.steps) {
      expect(s.artifacts).toEqual([]);
      expect(s.why).toBeUndefined();
      expect(s.status).toEqual({ from: 'ok', to: 'ok' });
    }
    expect(d.cache).toBeUndefined();
  });

  it("a param change is listed once (not as every task's artifact) and explains the steps that read it", () => {
    const d = diffRuns(trainRun({ id: 'run-1' }), trainRun({ id: 'run-2', alpha: 0.2 }));
    expect(d.params).toEqual([{ name: 'alpha', from: 0.1, to: 0.2 }]);
    expect(d.differs).toEqual(['params', 'artifacts']);
    expect(changes(d, 'start')).toEqual([]);
    expect(changes(d, 'prep')).toEqual(['prep/0 grid changed']);
    expect(changes(d, 'fit')).toEqual(['fit/0 model changed', 'fit/0 score changed', 'fit/1 model changed', 'fit/1 score changed']);
    expect(changes(d, 'join')).toEqual(['join/0 best changed']);
    // end only passes best on: the change is reported where it arose.
    expect(changes(d, 'end')).toEqual([]);
    const why = Object.fromEntries(d.steps.filter((s) => s.why).map((s) => [s.step, s.why]));
    expect(why).toEqual({ prep: [{ kind: 'param', name: 'alpha' }], fit: [{ kind: 'param', name: 'alpha' }], join: [{ kind: 'param', name: 'alpha' }] });
    expect(d.verdict).toBe('run-1 and run-2 differ in params, artifacts (6 artifact changes in prep, fit, join)');
  });

  it('seed and params together: the steps that differ only because of the seed are seedOnly (as the CLI test finds)', () => {
    const d = diffRuns(trainRun({ id: 'run-1' }), trainRun({ id: 'run-2', seed: 2, alpha: 0.2, extra: 5 }));
    expect(d.seed).toEqual({ from: 1, to: 2 });
    expect(d.differs).toEqual(['params', 'seed', 'artifacts']);
    expect(d.seedOnly).toEqual(['start']);
    const why = Object.fromEntries(d.steps.filter((s) => s.why).map((s) => [s.step, s.why]));
    expect(why).toEqual({
      start: [{ kind: 'seed' }],
      prep: [{ kind: 'param', name: 'alpha' }],
      fit: [{ kind: 'param', name: 'alpha' }, { kind: 'seed' }],
      join: [{ kind: 'param', name: 'alpha' }, { kind: 'seed' }],
      end: [{ kind: 'param', name: 'extra' }],
    });
    expect(d.verdict).toContain('; start differs only because the seed does (1 → 2)');
  });

  it('a seed change alone: every changed step is seedOnly and the verdict says so', () => {
    const d = diffRuns(trainRun({ id: 'run-1' }), trainRun({ id: 'run-2', seed: 7 }));
    expect(d.differs).toEqual(['seed', 'artifacts']);
    expect(d.seedOnly).toEqual(['start', 'fit', 'join']);
    expect(d.verdict).toMatch(/; every artifact change follows from the seed \(1 → 7\) alone$/);
  });

  it('a code change: files added, removed and changed (content or mode), and the step whose source changed', () => {
    const manifest = [file('flows/diff-why.ts', 'f2'), file('rows.csv', 'r1', 0o755), file('src/new.ts', 'n1')];
    const changed = FLOW_TEXT.replace('1 / (1 + lam)', '2 / (1 + lam)');
    expect(changed).not.toBe(FLOW_TEXT);
    const d = diffRuns(trainRun({ id: 'run-1' }), trainRun({ id: 'run-2', manifest, codeHash: 'code-2', commit: 'beef', fitCode: 'v2', graph: graphOf(changed) }));
    expect(d.code).toMatchObject({
      commit: { from: 'c0ffee', to: 'beef' },
      packageSame: false,
      added: ['src/new.ts'],
      removed: ['src/helpers.ts'],
      changed: ['flows/diff-why.ts', 'rows.csv'],
    });
    expect(d.differs).toEqual(['code', 'artifacts']);
    // src/helpers.ts went away: code outside the step methods differs too.
    expect(d.steps.find((s) => s.step === 'fit')!.why).toEqual([{ kind: 'code', step: 'fit' }]);
    expect(d.steps.find((s) => s.step === 'join')!.why).toEqual([{ kind: 'code', step: 'fit' }, { kind: 'other-code' }]);
  });

  it('the same files at another commit: code differs, the package does not', () => {
    const d = diffRuns(trainRun({ id: 'run-1' }), trainRun({ id: 'run-2', commit: null }));
    expect(d.code).toMatchObject({ commit: { from: 'c0ffee', to: null }, packageSame: true, added: [], removed: [], changed: [] });
    expect(d.differs).toEqual(['code']);
  });

  it("an env lock change: listed under environment, with the package changes, and a cause of the step's changes", () => {
    const a = trainRun({ id: 'run-1', envLocks: { fit: 'lock-a' }, record: { stepEnvs: { fit: { kind: 'npm', spec: { packages: { lodash: '^4' } }, lock: 'lock-a' } } } });
    const b = trainRun({ id: 'run-2', envLocks: { fit: 'lock-b' }, fitCode: 'v1-lodash-4.17.21', record: { stepEnvs: { fit: { kind: 'npm', spec: { packages: { lodash: '^4' } }, lock: 'lock-b' } } } });
    a.locks = { 'lock-a': [pkg('lodash', '4.17.20'), pkg('gone', '1.0.0')] };
    b.locks = { 'lock-b': [pkg('lodash', '4.17.21'), pkg('new', '2.0.0')] };
    const d = diffRuns(a, b);
    expect(d.env).toEqual([{ what: 'env lock of fit', from: 'lock-a', to: 'lock-b' }]);
    expect(d.envPackages).toEqual([
      { step: 'fit', manager: 'npm', path: 'node_modules/gone', name: 'gone', kind: 'removed', from: '1.0.0', to: undefined },
      { step: 'fit', manager: 'npm', path: 'node_modules/lodash', name: 'lodash', kind: 'changed', from: '4.17.20', to: '4.17.21' },
      { step: 'fit', manager: 'npm', path: 'node_modules/new', name: 'new', kind: 'added', from: undefined, to: '2.0.0' },
    ]);
    expect(d.differs).toEqual(['environment', 'artifacts']);
    expect(d.steps.find((s) => s.step === 'fit')!.why).toEqual([{ kind: 'environment' }]);
  });

  it('node, flowrun, os, lockfile, working directory and flow file are environment differences', () => {
    const b = trainRun({ id: 'run-2', record: { cwd: 'flows', env: { node: 'v22.0.0', flowrun: '0.2.0', os: 'darwin', arch: 'arm64', lockfile: null } } });
    const d = diffRuns(trainRun({ id: 'run-1' }), b);
    expect(d.env.map((e) => e.what)).toEqual(['node', 'flowrun', 'os', 'lockfile', 'working directory']);
    expect(d.env.find((e) => e.what === 'os')).toEqual({ what: 'os', from: 'linux/x64', to: 'darwin/arm64' });
    expect(d.differs).toEqual(['environment']);
  });

  it('artifact hash changes are reported per task, added and removed where the task set them', () => {
    const a = trainRun({ id: 'run-1' });
    const b = trainRun({ id: 'run-2' });
    b.tasks.fit![1]!.artifacts.score = { hash: 'other', size: 5 };
    b.tasks.end![0]!.artifacts.note = { hash: 'note', size: 4 };
    delete b.tasks.end![0]!.artifacts.big;
    const d = diffRuns(a, b);
    expect(changes(d, 'fit')).toEqual(['fit/1 score changed']);
    expect(changes(d, 'end')).toEqual(['end/0 big removed', 'end/0 note added']);
    const score = d.steps.find((s) => s.step === 'fit')!.artifacts[0]!;
    expect(score).toMatchObject({ from: 'score:model:v1:0.1:1:seed1', to: 'other' });
  });

  it('a failed task lists no inherited artifact as added or removed, and the status change is its own section', () => {
    const d = diffRuns(trainRun({ id: 'run-3', failFit: true }), trainRun({ id: 'run-1' }));
    expect(changes(d, 'fit').sort()).toEqual(['fit/0 model added', 'fit/0 score added', 'fit/1 model added', 'fit/1 score added']);
    const status = Object.fromEntries(d.steps.map((s) => [s.step, s.status]));
    expect(status).toMatchObject({ prep: { from: 'ok', to: 'ok' }, fit: { from: 'failed', to: 'ok' }, join: { from: 'not run', to: 'ok' }, end: { from: 'not run', to: 'ok' } });
    expect(d.steps.find((s) => s.step === 'join')!.onlyInB).toEqual(['0']);
    expect(d.params).toEqual([{ name: 'fail', from: true, to: false }]);
    expect(d.differs).toEqual(['params', 'artifacts', 'status']);
  });

  it('foreach with different task counts: the extra splits are onlyInA or onlyInB, in split order', () => {
    const d = diffRuns(trainRun({ id: 'run-1', splits: 12 }), trainRun({ id: 'run-2', splits: 2 }));
    const fit = d.steps.find((s) => s.step === 'fit')!;
    expect(fit.tasks).toEqual({ from: 12, to: 2 });
    expect(fit.onlyInA).toEqual(['2', '3', '4', '5', '6', '7', '8', '9', '10', '11']);
    expect(fit.onlyInB).toEqual([]);
    expect(fit.attempts).toEqual({ from: 12, to: 2 });
    expect(fit.durationMs).toEqual({ from: 120, to: 20 });
    const back = diffRuns(trainRun({ id: 'run-2', splits: 2 }), trainRun({ id: 'run-1', splits: 3 })).steps.find((s) => s.step === 'fit')!;
    expect(back.onlyInA).toEqual([]);
    expect(back.onlyInB).toEqual(['2']);
    expect(d.differs).toContain('artifacts');
  });

  it('step cache use: counted per step and per run, with the runs the tasks came from; not a difference', () => {
    const cache = { steps: ['fit'], lookups: 2, local: 2, remote: 0, filled: 0, lookupMs: 1 };
    const b = trainRun({ id: 'run-2', cachedFrom: { run: 'run-1', steps: ['fit'] }, record: { cache } });
    const d = diffRuns(trainRun({ id: 'run-1' }), b);
    expect(d.steps.find((s) => s.step === 'fit')!.cached).toEqual({ from: 0, to: 2 });
    expect(d.steps.find((s) => s.step === 'prep')!.cached).toEqual({ from: 0, to: 0 });
    expect(d.cache).toEqual({ a: { reused: 0, tasks: 6, from: [] }, b: { reused: 2, tasks: 6, from: ['run-1'] } });
    expect(d.differs).toEqual([]);
  });

  it('an @includeFile whose content changed is an input difference, and the cause of what reads it', () => {
    const include = (hash: string) => ({ data: { path: 'rows.csv', hash, size: 3, binary: false } });
    const a = trainRun({ id: 'run-1', record: { includes: include('rows-1') } });
    const b = trainRun({ id: 'run-2', record: { includes: include('rows-2') } });
    b.tasks.start![0]!.artifacts.rows = { hash: 'rows:r2', size: 7 };
    const d = diffRuns(a, b);
    expect(d.inputs).toEqual([{ name: 'data', path: { from: 'rows.csv', to: 'rows.csv' }, hash: { from: 'rows-1', to: 'rows-2' }, size: { from: 3, to: 3 } }]);
    expect(d.differs).toEqual(['inputs', 'artifacts']);
    expect(d.steps.find((s) => s.step === 'start')!.why).toEqual([{ kind: 'input', name: 'data' }]);
  });

  it('without graphs every step counts as reading everything', () => {
    const a = trainRun({ id: 'run-1' });
    const b = trainRun({ id: 'run-2', seed: 2, alpha: 0.2 });
    delete a.graph;
    delete b.graph;
    const d = diffRuns(a, b);
    // With the graph start reads no param and differs only by the seed; without, it may read alpha.
    expect(d.steps.find((s) => s.step === 'start')!.why).toEqual([{ kind: 'param', name: 'alpha' }]);
    expect(d.seedOnly).toEqual([]);
    expect(diffRuns(trainRun({ id: 'run-1' }), trainRun({ id: 'run-2', seed: 2, alpha: 0.2 })).seedOnly).toEqual(['start']);
  });
});
