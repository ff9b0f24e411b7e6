import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newestRunIds } from '../../src/client/newest-ids.js';

/** What Flow.latestRun did before: every run id sorted by number, newest first (a stable sort), then the first k. */
function bySort(names: string[], k: number): { ids: string[]; total: number } {
  const ids = names.filter((n) => /^run-\d+$/.test(n)).sort((a, b) => Number(b.slice(4)) - Number(a.slice(4)));
  return { ids: ids.slice(0, Math.max(0, k)), total: ids.length };
}

const digits = fc.stringMatching(/^[0-9]{1,4}$/);
const name = fc.oneof(
  fc.integer({ min: 1, max: 60 }).map((n) => `run-${n}`),
  digits.map((d) => `run-${d}`), // leading zeros: run-007 and run-7 tie
  fc.stringMatching(/^[0-9]{300,330}$/).map((d) => `run-${d}`), // past Number's range: Infinity ties
  fc.constantFrom('run-', 'run-x', 'run-1a', '.tmp-run-3', 'index', 'RUN-4'),
);

describe('newestRunIds: the k newest run ids of a store listing', () => {
  it('is the full numeric sort of the run ids, sliced: same ids, same order (ties in listing order), same total', () => {
    fc.assert(
      fc.property(fc.array(name, { maxLength: 120 }), fc.integer({ min: -1, max: 40 }), (names, k) => {
        expect(newestRunIds(names, k)).toEqual(bySort(names, k));
      }),
      { numRuns: 500 },
    );
  });

  it('1,000 runs listed as the store lists them (by name): the 32 highest numbers, highest first', () => {
    const names = Array.from({ length: 1000 }, (_, i) => `run-${i + 1}`).sort();
    const { ids, total } = newestRunIds(names, 32);
    expect(total).toBe(1000);
    expect(ids).toEqual(Array.from({ length: 32 }, (_, i) => `run-${1000 - i}`));
  });
});
