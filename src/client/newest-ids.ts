const RUN_ID = /^run-\d+$/;

/**
 * The first `k` run ids (`run-<n>`) among a store's record names, highest n first: what sorting
 * them all by number and taking `k` gives (ties keep the given order), plus how many there are.
 *
 * Why not that sort: in a fresh process (a script's `latestRun()`, issue #18) a comparator parsing
 * both numbers runs ~10,000 times for 1,000 runs before V8 optimises it, 4-9 ms. Here each number
 * is parsed once, the k-th largest is found by the typed array's native numeric sort, and only the
 * ids at or above it go through a comparator.
 */
export function newestRunIds(names: readonly string[], k: number): { ids: string[]; total: number } {
  const ids: string[] = [];
  const numbers: number[] = [];
  for (const name of names) {
    if (!RUN_ID.test(name)) continue;
    ids.push(name);
    numbers.push(Number(name.slice(4)));
  }
  if (ids.length === 0 || k <= 0) return { ids: [], total: ids.length };
  const floor = Float64Array.from(numbers).sort()[Math.max(0, ids.length - k)]!;
  const picked: number[] = [];
  for (let i = 0; i < ids.length; i++) if (numbers[i]! >= floor) picked.push(i);
  picked.sort((a, b) => numbers[b]! - numbers[a]!);
  return { ids: picked.slice(0, k).map((i) => ids[i]!), total: ids.length };
}
