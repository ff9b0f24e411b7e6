import type { ReplayVerdict, RunRecord, RunStatus } from '../../metadata/records.js';

/** One line of the runs page. */
export interface RunRow {
  id: string;
  flow: string;
  status: RunStatus;
  started: string;
  durationMs?: number;
  commit: string | null;
  dirty: boolean | null;
  tags: string[];
  user?: string;
  /** A replay: the run it repeats and, once checked, the verdict. */
  replayOf?: string;
  verdict?: ReplayVerdict;
  /** A resume: the run it continues. */
  origin?: string;
  steps: number;
  tasks?: number;
}

export interface RunsQuery {
  flow?: string;
  status?: string;
  tag?: string;
  user?: string;
  limit: number;
  offset: number;
}

export interface RunsModel {
  source: 'local' | 'mirror';
  location: string;
  /** Runs in the store, and those matching the filters (rows is one page of them). */
  total: number;
  matched: number;
  rows: RunRow[];
  /** Values the filters can take, from every run (not only the matching ones). */
  facets: { flows: string[]; statuses: string[]; tags: string[]; users: string[] };
  /** Some run is still running: the page polls. */
  live: boolean;
}

/** The user a run was started by, once runs record one (#17); undefined before. */
export function userOf(r: RunRecord): string | undefined {
  const u = (r as RunRecord & { user?: unknown }).user;
  return typeof u === 'string' ? u : u && typeof u === 'object' && typeof (u as { name?: unknown }).name === 'string' ? (u as { name: string }).name : undefined;
}

/** Query parameters as filters; anything else in them is ignored. */
export function parseRunsQuery(params: URLSearchParams): RunsQuery {
  const num = (k: string, d: number, max: number) => {
    const n = Number(params.get(k) ?? d);
    return Number.isInteger(n) && n >= 0 ? Math.min(n, max) : d;
  };
  const str = (k: string) => params.get(k) || undefined;
  return { flow: str('flow'), status: str('status'), tag: str('tag'), user: str('user'), limit: num('limit', 200, 5000), offset: num('offset', 0, 1e9) };
}

/** Filters and pages run records (newest first, as listRuns gives them). Pure. */
export function runsModel(runs: RunRecord[], q: RunsQuery, source: RunsModel['source'], location: string): RunsModel {
  const matching = runs.filter((r) => (!q.flow || r.flow === q.flow) && (!q.status || r.status === q.status) && (!q.tag || r.tags.includes(q.tag)) && (!q.user || userOf(r) === q.user));
  const uniq = (xs: Iterable<string | undefined>) => [...new Set([...xs].filter((x): x is string => typeof x === 'string'))].sort();
  return {
    source,
    location,
    total: runs.length,
    matched: matching.length,
    rows: matching.slice(q.offset, q.offset + q.limit).map(row),
    facets: {
      flows: uniq(runs.map((r) => r.flow)),
      statuses: uniq(runs.map((r) => r.status)),
      tags: uniq(runs.flatMap((r) => r.tags)),
      users: uniq(runs.map(userOf)),
    },
    live: runs.some((r) => r.status === 'running'),
  };
}

function row(r: RunRecord): RunRow {
  const out: RunRow = {
    id: r.id,
    flow: r.flow,
    status: r.status,
    started: r.started,
    durationMs: r.durationMs,
    commit: r.git?.commit ?? null,
    dirty: r.git ? r.git.dirty : null,
    tags: r.tags,
    steps: r.steps.length,
  };
  const user = userOf(r);
  if (user) out.user = user;
  if (r.replayOf) out.replayOf = r.replayOf;
  if (r.verdict) out.verdict = r.verdict;
  if (r.origin) out.origin = r.origin.run;
  if (r.summary) out.tasks = Object.values(r.summary).reduce((n, s) => n + s.tasks, 0);
  return out;
}
