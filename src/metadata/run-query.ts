import type { RunRecord, RunStatus } from './records.js';

/**
 * A run's status as lists show it. A replay is judged by its verdict, not by whether its tasks
 * ran: one that did not reproduce its origin is `diverged`, one with nothing (or not yet
 * anything) compared is `unverified`. Other runs show their recorded status.
 */
export type ListedStatus = RunStatus | 'diverged' | 'unverified';
export const LISTED_STATUSES: readonly ListedStatus[] = ['running', 'ok', 'failed', 'interrupted', 'diverged', 'unverified'];

/** What produced a run: `flow run`, `flow resume`, `flow replay` (verifying) or a what-if replay. */
export type RunKind = 'run' | 'resume' | 'replay' | 'what-if';
export const RUN_KINDS: readonly RunKind[] = ['run', 'resume', 'replay', 'what-if'];

export function runKind(r: RunRecord): RunKind {
  if (r.replayOf !== undefined) return isWhatIf(r) ? 'what-if' : 'replay';
  return r.origin ? 'resume' : 'run';
}

/** Replays recorded before `whatIf` existed carried a `what-if` tag and never a verdict. */
function isWhatIf(r: RunRecord): boolean {
  return r.whatIf !== undefined || (r.verdict === undefined && r.tags.includes('what-if'));
}

export function listedStatus(r: RunRecord): ListedStatus {
  if (runKind(r) !== 'replay' || r.status === 'running' || r.status === 'interrupted') return r.status;
  const v = r.verdict;
  if (!v) return 'unverified';
  if (v.reproduced) return r.status; // a replay of a failed run that failed the same way reproduced it
  return v.firstDivergence ? 'diverged' : 'unverified';
}

/** Filters of run lists (`flow runs`, the client); every given filter must hold. */
export interface RunQuery {
  flow?: string;
  /** Runs carrying every one of these tags. */
  tags?: readonly string[];
  status?: ListedStatus;
  user?: string;
  /**
   * Metaflow's namespace: `user:<name>` keeps that user's runs (and runs recorded before users
   * were, which belong to no one), any other string keeps runs tagged with it; null: all runs.
   */
  namespace?: string | null;
  /** Kinds of run to keep (default: all). */
  kinds?: readonly RunKind[];
  /** At most this many (the newest, when the runs are listed newest first). */
  limit?: number;
}

export function matchesNamespace(r: RunRecord, namespace: string | null | undefined): boolean {
  if (namespace === null || namespace === undefined) return true;
  if (namespace.startsWith('user:')) return r.user === undefined || r.user === namespace.slice(5);
  return r.tags.includes(namespace);
}

/** The runs matching a query, in the order given. Pure. */
export function selectRuns<R extends RunRecord>(runs: readonly R[], q: RunQuery): R[] {
  const out = runs.filter(
    (r) => (q.flow === undefined || r.flow === q.flow) && (q.tags ?? []).every((t) => r.tags.includes(t)) && (q.status === undefined || listedStatus(r) === q.status) && (q.user === undefined || r.user === q.user) && matchesNamespace(r, q.namespace) && (q.kinds === undefined || q.kinds.includes(runKind(r))),
  );
  return q.limit === undefined ? out : out.slice(0, q.limit);
}
