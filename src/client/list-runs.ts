import { hostname } from 'node:os';
import type { RunRecord } from '../runtime/records.js';
import type { LocalStore } from '../store/local.js';
import { indexedRunRecords } from '../store/run-index.js';

/** Runs in a store, newest first: run records only, through the store's run index. */
export async function listRuns(store: LocalStore): Promise<RunRecord[]> {
  const runs = [...indexedRunRecords(store).records.values()].map(withLiveness);
  return runs.sort((a, b) => Number(b.id.slice(4)) - Number(a.id.slice(4)));
}

/** A run still marked running whose orchestrator process is gone was killed. */
export function withLiveness(r: RunRecord): RunRecord {
  if (r.status !== 'running' || r.host !== hostname()) return r;
  try {
    process.kill(r.pid, 0);
    return r;
  } catch (e) {
    // EPERM: the process exists (another user's); only ESRCH means it is gone.
    return (e as NodeJS.ErrnoException).code === 'ESRCH' ? { ...r, status: 'interrupted' } : r;
  }
}
