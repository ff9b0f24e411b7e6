import { hostname } from 'node:os';
import type { RunRecord } from './records.js';

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
