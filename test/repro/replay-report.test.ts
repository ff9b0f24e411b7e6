import { describe, expect, it } from 'vitest';
import type { RunView } from '../../src/diff/diff.js';
import { renderReplayReport } from '../../src/replay/report.js';
import { type ArtifactCheck, verifyReplay } from '../../src/replay/verify.js';
import type { RunRecord } from '../../src/metadata/records.js';

const h = (c: string) => c.repeat(64);
const checks: ArtifactCheck[] = [
  { task: 'start/0', artifact: 'a', status: 'reproduced', expected: h('1'), got: h('1') },
  { task: 'start/0', artifact: 'b', status: 'reproduced', expected: h('2'), got: h('2') },
  ...Array.from({ length: 30 }, (_, i): ArtifactCheck => ({ task: `fit/${i}`, artifact: 'score', status: 'diverged', expected: h('3'), got: h('4') })),
  { task: 'fit/30', artifact: 'score', status: 'reproduced', expected: h('3'), got: h('3') },
  { task: 'end/0', artifact: 'best', status: 'missing', expected: h('5') },
];
const verdict = { reproduced: false, artifacts: { reproduced: 3, diverged: 30, missing: 1 }, firstDivergence: { step: 'fit', task: 'fit/0', artifact: 'score', kind: 'diverged' as const } };

describe('replay report', () => {
  it('summarises reproduced counts per step and lists every diverged or missing artifact, untruncated', () => {
    const text = renderReplayReport({ original: 'run-1', replay: 'run-2', checks, verdict, verbose: false }).join('\n');
    expect(text).toMatch(/step\s+reproduced\s+diverged\s+missing/);
    expect(text).toMatch(/start\s+2\/2\s+0\s+0/);
    expect(text).toMatch(/fit\s+1\/31\s+30\s+0/);
    expect(text).toMatch(/end\s+0\/1\s+0\s+1/);
    for (let i = 0; i < 30; i++) expect(text).toContain(`≠ fit/${i} score: diverged (expected ${'3'.repeat(12)}, got ${'4'.repeat(12)})`);
    expect(text).toContain('? end/0 best: missing');
    expect(text).not.toContain('start/0 a');
    expect(text).toContain('run-2: did NOT reproduce run-1: 30 diverged, 1 missing, 3 reproduced of 34 artifacts');
    expect(text).toContain('first divergence: step fit, artifact score (fit/0, diverged)');
  });

  it('--verbose lists reproduced artifacts too; --quiet prints only the verdict', () => {
    const verbose = renderReplayReport({ original: 'run-1', replay: 'run-2', checks, verdict, verbose: true }).join('\n');
    expect(verbose).toContain('= start/0 a: reproduced');
    expect(verbose).toContain('= fit/30 score: reproduced');
    const quiet = renderReplayReport({ original: 'run-1', replay: 'run-2', checks, verdict, verbose: false, quiet: true });
    expect(quiet[0]).toMatch(/^run-2: did NOT reproduce/);
    const ok = renderReplayReport({ original: 'run-1', replay: 'run-2', checks: checks.slice(0, 2), verdict: { reproduced: true, artifacts: { reproduced: 2, diverged: 0, missing: 0 } }, verbose: false });
    expect(ok.join('\n')).toMatch(/start\s+2\/2/);
    expect(ok.at(-1)).toBe('run-2: reproduced run-1 bit for bit: 2 of 2 artifacts match');
  });

  it('nothing to compare is never a success: no "reproduced 0 of 0"', () => {
    const empty = { record: { steps: [{ name: 'start', type: 'linear' }] } as unknown as RunRecord, tasks: { start: [] }, locks: {} } satisfies RunView;
    const { checks: none, verdict: v } = verifyReplay(empty, empty);
    expect(none).toEqual([]);
    expect(v.reproduced).toBe(false);
    const text = renderReplayReport({ original: 'run-1', replay: 'run-2', checks: none, verdict: v, verbose: false }).join('\n');
    expect(text).toContain('run-2: NOT verified: run-1 has no artifacts of successful tasks to compare with');
    expect(text).not.toContain('reproduced run-1');
  });
});
