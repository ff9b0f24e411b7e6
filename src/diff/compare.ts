import { createTwoFilesPatch } from 'diff';
import { Run } from '../client/client.js';
import { UsageError } from '../errors/index.js';
import type { SyncStore } from '../store/types.js';
import { type RunDiff, diffRuns } from './diff.js';
import { readPackageFiles } from '../package/code-package.js';
import { describeChanges, loadRunView } from './load.js';

/** `flow diff`: loads both runs, computes the (pure) diff, then reads small values and file texts. */
export async function compareRuns(store: SyncStore, idA: string, idB: string, opts: { code?: boolean } = {}): Promise<RunDiff> {
  const [ra, rb] = [await Run.open(store, idA), await Run.open(store, idB)];
  if (ra.flow !== rb.flow) {
    throw new UsageError('DIFF_FLOW_MISMATCH', `${ra.id} is a run of ${ra.flow} and ${rb.id} of ${rb.flow}: flow diff compares runs of one flow.`, { fix: `List the runs of one flow with flow runs ${ra.flow}.` });
  }
  const [a, b] = [await loadRunView(ra, { graph: true }), await loadRunView(rb, { graph: true })];
  const diff = diffRuns(a, b);
  describeChanges(diff, a, b, store);
  if (opts.code && ra.record.code && rb.record.code && diff.code.changed.length + diff.code.added.length + diff.code.removed.length > 0) {
    const paths = new Set([...diff.code.changed, ...diff.code.added, ...diff.code.removed]);
    const [fa, fb] = [await readPackageFiles(store.getObjectSync(ra.record.code.hash), paths), await readPackageFiles(store.getObjectSync(rb.record.code.hash), paths)];
    diff.code.patches = {};
    for (const p of [...paths].sort()) {
      diff.code.patches[p] = createTwoFilesPatch(fa.has(p) ? `a/${p}` : '/dev/null', fb.has(p) ? `b/${p}` : '/dev/null', fa.get(p) ?? '', fb.get(p) ?? '', ra.id, rb.id);
    }
  }
  return diff;
}
