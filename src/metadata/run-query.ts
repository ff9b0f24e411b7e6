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

export function matchesNamespace(r: { user?: string; tags: readonly string[] }, namespace: string | null | undefined): boolean {
  if (namespace === null || namespace === undefined) return true;
  if (namespace.startsWith('user:')) return r.user === undefined || r.user === namespace.slice(5);
  return r.tags.includes(namespace);
}

/**
 * What a query looks at in a run as listed (tag log merged, liveness applied): a listing served
 * from the run index (src/store/run-index.ts) filters these without the whole record.
 */
export interface RunView {
  id: string;
  flow: string;
  user?: string;
  tags: readonly string[];
  listed: ListedStatus;
  kind: RunKind;
}

export function runView(r: RunRecord): RunView {
  return { id: r.id, flow: r.flow, user: r.user, tags: r.tags, listed: listedStatus(r), kind: runKind(r) };
}

/** Whether a run (as a view) matches a query's filters (its limit aside). Pure. */
export function matchesQuery(v: RunView, q: RunQuery): boolean {
  return (q.flow === undefined || v.flow === q.flow) && (q.tags ?? []).every((t) => v.tags.includes(t)) && (q.status === undefined || v.listed === q.status) && (q.user === undefined || v.user === q.user) && matchesNamespace(v, q.namespace) && (q.kinds === undefined || q.kinds.includes(v.kind));
}

/** The runs matching a query, in the order given. Pure. */
export function selectRuns<R extends RunRecord>(runs: readonly R[], q: RunQuery): R[] {
  const out = runs.filter((r) => matchesQuery(runView(r), q));
  return q.limit === undefined ? out : out.slice(0, q.limit);
}
