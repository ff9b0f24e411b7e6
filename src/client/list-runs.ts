import type { RunRecord } from '../metadata/records.js';
import { withLiveness } from '../metadata/liveness.js';
import type { LocalStore } from '../store/local.js';
import { indexedRunRecords } from '../store/run-index.js';

/** Runs in a store, newest first: run records only, through the store's run index. */
export async function listRuns(store: LocalStore): Promise<RunRecord[]> {
  const runs = [...indexedRunRecords(store).records.values()].map(withLiveness);
  return runs.sort((a, b) => Number(b.id.slice(4)) - Number(a.id.slice(4)));
}

export { withLiveness };
