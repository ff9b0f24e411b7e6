import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type RunDiff, type RunView, diffRuns } from '../../src/diff/diff.js';
import type { ArtifactRef, ManifestEntry, RunRecord, TaskRecord } from '../../src/metadata/records.js';

// Laws of diffRuns over arbitrary runs of one flow (steps start → mid → end, any number of
// tasks per step, artifacts from a small pool of names and hashes so that runs often agree).

const STEPS = ['start', 'mid', 'end'] as const;
const hash = fc.constantFrom('h1', 'h2', 'h3');
const artifacts = fc.dictionary(
  fc.constantFrom('x', 'y', 'z', 'alpha'),
  hash.map((h): ArtifactRef => ({ hash: h, size: 1 })),
  { maxKeys: 4 },
);

const runView = (id: string): fc.Arbitrary<RunView> =>
  fc
    .record({
      params: fc.dictionary(fc.constantFrom('alpha', 'beta'), fc.integer({ min: 0, max: 2 }), { maxKeys: 2 }),
      seed: fc.integer({ min: 1, max: 2 }),
      status: fc.constantFrom<RunRecord['status']>('ok', 'failed'),
      commit: fc.constantFrom('c1', 'c2', null),
      codeHash: fc.constantFrom('p1', 'p2'),
      envLock: fc.constantFrom('l1', 'l2', null),
      node: fc.constantFrom('v20.1.0', 'v20.2.0'),
      manifest: fc.uniqueArray(fc.record({ path: fc.constantFrom('a.ts', 'b.ts', 'c.ts'), sha256: hash, size: fc.constant(1), mode: fc.constantFrom(0o644, 0o755) }), { selector: (f: ManifestEntry) => f.path, maxLength: 3 }),
      // Per step: its tasks' ids (a foreach over 0..n-1 in mid), statuses, artifacts and cache origin.
      tasks: fc.tuple(
        ...STEPS.map((step) =>
          fc.array(
            fc.record({
              ok: fc.boolean(),
              artifacts,
              cached: fc.constantFrom(undefined, 'run-9'),
              durationMs: fc.integer({ min: 0, max: 5 }),
            }),
            { minLength: step === 'mid' ? 0 : 1, maxLength: step === 'mid' ? 4 : 1 },
          ),
        ),
      ),
    })
    .map((g): RunView => {
      const tasks: Record<string, TaskRecord[]> = {};
      STEPS.forEach((step, i) => {
        const prev = i === 0 ? [] : (tasks[STEPS[i - 1]!] ?? []).map((t) => `${t.step}/${t.id}`);
        tasks[step] = g.tasks[i]!.map(
          (t, n): TaskRecord => ({
            schema: 'flowrun.task/1',
            run: id,
            step,
            id: String(n),
            stack: [],
            parents: step === 'end' ? prev : prev.slice(0, 1),
            status: t.ok ? 'ok' : 'failed',
            attempts: [{ attempt: 0, started: 't0', finished: 't1', durationMs: t.durationMs, status: t.ok ? 'ok' : 'failed' }],
            artifacts: t.artifacts,
            logs: { stdout: 'o', stderr: 'e' },
            ...(t.cached ? { cachedFrom: `${t.cached}/${step}/${n}` } : {}),
          }),
        );
      });
      const record: RunRecord = {
        schema: 'flowrun.run/1',
        id,
        flow: 'F',
        file: 'f.ts',
        status: g.status,
        params: g.params,
        seed: g.seed,
        tags: [],
        started: 't',
        host: 'h',
        pid: 1,
        flowrunVersion: '0.1.0',
        node: g.node,
        steps: STEPS.map((name) => ({ name, type: 'linear' })),
        git: g.commit === null ? null : { commit: g.commit, branch: 'main', dirty: false, remotes: {}, shallow: false, detached: false },
        code: { hash: g.codeHash, manifest: 'm', files: g.manifest.length, bytes: 1 },
        envLocks: { mid: g.envLock },
      };
      return { record, tasks, manifest: g.manifest };
    });

/** The parts of a diff that do not depend on which run is a and which b, in a canonical order. */
function swapped(d: RunDiff) {
  const flip = { added: 'removed', removed: 'added', changed: 'changed' } as const;
  return {
    differs: d.differs,
    code: { added: d.code.removed, removed: d.code.added, changed: d.code.changed, packageSame: d.code.packageSame },
    params: d.params.map((p) => ({ name: p.name, from: p.to, to: p.from })).sort((x, y) => x.name.localeCompare(y.name)),
    env: d.env.map((e) => ({ what: e.what, from: e.to, to: e.from })),
    steps: d.steps.map((s) => ({
      step: s.step,
      onlyInA: s.onlyInB,
      onlyInB: s.onlyInA,
      tasks: { from: s.tasks.to, to: s.tasks.from },
      status: { from: s.status.to, to: s.status.from },
      cached: { from: s.cached.to, to: s.cached.from },
      artifacts: s.artifacts.map((c) => `${c.task} ${c.artifact} ${flip[c.kind]} ${c.to} ${c.from}`).sort(),
    })),
  };
}

function plain(d: RunDiff): ReturnType<typeof swapped> {
  return {
    differs: d.differs,
    code: { added: d.code.added, removed: d.code.removed, changed: d.code.changed, packageSame: d.code.packageSame },
    params: [...d.params].sort((x, y) => x.name.localeCompare(y.name)),
    env: d.env,
    steps: d.steps.map((s) => ({
      step: s.step,
      onlyInA: s.onlyInA,
      onlyInB: s.onlyInB,
      tasks: s.tasks,
      status: s.status,
      cached: s.cached,
      artifacts: s.artifacts.map((c) => `${c.task} ${c.artifact} ${c.kind} ${c.from} ${c.to}`).sort(),
    })),
  };
}

describe('diffRuns laws', () => {
  it('a run compared with itself is the same: nothing differs, no step changed, the verdict says same', () => {
    fc.assert(
      fc.property(runView('run-1'), (v) => {
        const d = diffRuns(v, v);
        expect(d.differs).toEqual([]);
        expect(d.verdict).toBe('run-1 and run-1 are the same: code, params, seed, environment and every artifact hash match');
        expect(d.seedOnly).toEqual([]);
        expect(d.params).toEqual([]);
        expect(d.env).toEqual([]);
        for (const s of d.steps) {
          expect(s.artifacts).toEqual([]);
          expect(s.onlyInA).toEqual([]);
          expect(s.onlyInB).toEqual([]);
          expect(s.why).toBeUndefined();
        }
      }),
    );
  });

  it('swapping the runs swaps added and removed, from and to, onlyInA and onlyInB; the sections that differ stay', () => {
    fc.assert(
      fc.property(runView('run-1'), runView('run-2'), (a, b) => {
        expect(plain(diffRuns(b, a))).toEqual(swapped(diffRuns(a, b)));
      }),
    );
  });

  it('"the same" exactly when nothing differs; seedOnly only when the seeds differ, and only steps with artifact changes', () => {
    fc.assert(
      fc.property(runView('run-1'), runView('run-2'), (a, b) => {
        const d = diffRuns(a, b);
        expect(d.verdict.includes('are the same')).toBe(d.differs.length === 0);
        if (d.seedOnly.length) expect(d.seed.from).not.toBe(d.seed.to);
        for (const s of d.seedOnly) expect(d.steps.find((x) => x.step === s)!.artifacts.length).toBeGreaterThan(0);
        // Every step with artifact changes says why; steps without say nothing.
        for (const s of d.steps) expect(s.why !== undefined).toBe(s.artifacts.length > 0);
        if (d.steps.some((s) => s.artifacts.length)) expect(d.differs).toContain('artifacts');
      }),
    );
  });
});
