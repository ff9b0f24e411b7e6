import { inspect } from 'node:util';
import { UsageError } from '../errors/index.js';
import type { RunRecord } from '../metadata/records.js';
import { table } from '../errors/format.js';
import { displayValue } from '../util/terminal.js';
import { listedStatus, runKind } from '../metadata/run-query.js';
import { type ListedRun, listedRun } from '../metadata/listed-run.js';

export interface Pathspec {
  run: string;
  step?: string;
  task?: string;
}

export function parsePathspec(text: string, need: 'run' | 'step' = 'run'): Pathspec {
  const parts = text.split('/');
  if (parts.length > 3 || parts.some((p) => p === '') || (need === 'step' && parts.length < 2)) {
    throw new UsageError('PATHSPEC_INVALID', `${JSON.stringify(text)} is not a ${need === 'step' ? 'RUN/STEP[/TASK]' : 'RUN[/STEP[/TASK]]'} path.`, { fix: need === 'step' ? 'Write it like run-4/fit or run-4/fit/3.' : 'Write it like run-4, run-4/fit or run-4/fit/3.' });
  }
  const [run, step, task] = parts as [string, string?, string?];
  return { run, step, task };
}

/** A value for the terminal: JSON when it is plain JSON, else Node's inspect. */
export function renderValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (isPlainJson(v)) return JSON.stringify(v, null, 2);
  return inspect(v, { depth: 6, maxArrayLength: 100, colors: false });
}

function isPlainJson(v: unknown): boolean {
  if (v === null || ['string', 'boolean'].includes(typeof v)) return true;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (Array.isArray(v)) return v.every(isPlainJson);
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v as object).every(isPlainJson);
  return false;
}

export function duration(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} m ${Math.round((ms % 60_000) / 1000)} s`;
}

export function renderRuns(runs: RunRecord[]): string {
  if (runs.length === 0) return 'No runs yet. Start one with: flow run <flow.ts>';
  return table([
    ['RUN', 'FLOW', 'STATUS', 'KIND', 'STARTED', 'DURATION', 'USER', 'COMMIT', 'DIRTY', 'TAGS'],
    ...runs.map((r) => [r.id, r.flow, listedStatus(r), kindCell(r), r.started.replace('T', ' ').slice(0, 19), duration(r.durationMs), displayValue(r.user ?? '-', 20), r.git?.commit?.slice(0, 10) ?? '-', r.git ? (r.git.dirty ? 'yes' : 'no') : '-', r.tags.map((t) => displayValue(t, 40)).join(',')]),
  ]).join('\n');
}

/** `replay of run-4 ✓` (reproduced), `✗` (did not), `what-if of run-4`, `resume of run-3`, or `run`. */
function kindCell(r: RunRecord): string {
  const kind = runKind(r);
  if (kind === 'run') return 'run';
  if (kind === 'resume') return `resume of ${r.origin!.run}`;
  const mark = kind === 'replay' ? (r.verdict?.reproduced ? ' ✓' : r.verdict ? ' ✗' : '') : '';
  return `${kind} of ${r.replayOf}${mark}`;
}

/** `flow runs --json`: each record with its tags as merged, its kind, and `status` as listed (`recordedStatus` when that differs). */
export function runsJson(runs: RunRecord[]): ListedRun[] {
  return runs.map(listedRun);
}
