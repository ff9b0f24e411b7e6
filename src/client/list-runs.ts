import type { RunRecord } from '../metadata/records.js';
import { withLiveness } from '../metadata/liveness.js';
import type { SyncStore } from '../store/types.js';
import { indexedRunRecords } from '../store/run-index.js';
import { withTagLog } from '../metadata/tags.js';
import { readTagLog } from './tags.js';

/** Runs in a store, newest first, their tags merged with their tag logs: run records through the store's run index, and tag logs. */
export async function listRuns(store: SyncStore): Promise<RunRecord[]> {
  const runs = [...indexedRunRecords(store).records.values()].map((r) => withTagLog(withLiveness(r), readTagLog(store, r.id)));
  return runs.sort((a, b) => Number(b.id.slice(4)) - Number(a.id.slice(4)));
}

export { withLiveness };
