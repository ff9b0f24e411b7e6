import { hostname } from 'node:os';
import type { RunRecord } from './records.js';

/** A run still marked running whose orchestrator process is gone was killed. */
export function withLiveness(r: RunRecord): RunRecord {
  return orphaned(r) ? { ...r, status: 'interrupted' } : r;
}

/** Whether a run is marked running on this host by a process that is gone. */
export function orphaned(r: Pick<RunRecord, 'status' | 'host' | 'pid'>): boolean {
  if (r.status !== 'running' || r.host !== hostname()) return false;
  try {
    process.kill(r.pid, 0);
    return false;
  } catch (e) {
    // EPERM: the process exists (another user's); only ESRCH means it is gone.
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
