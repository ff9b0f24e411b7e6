import type { RunRecord } from './records.js';
import { listedStatus, type RunKind, runKind } from './run-query.js';

/** A run as `flow runs --json` lists it: the record, its kind, and its listed status (the recorded one kept when they differ). */
export type ListedRun = RunRecord & { kind: RunKind; recordedStatus?: string };

export const RUNS_JSON_SCHEMA = 'flowrun.runs/1';

export function listedRun(r: RunRecord): ListedRun {
  const status = listedStatus(r);
  return { ...r, kind: runKind(r), ...(status !== r.status ? { status: status as RunRecord['status'], recordedStatus: r.status } : {}) };
}

/** How deep a run sits in the listing's JSON: `{ "runs": [ <here> ] }`. */
const RUN_INDENT = '    ';

/**
 * A run's part of `flow runs --json`, exactly as `JSON.stringify({ schema, runs }, null, 2)`
 * prints it at its depth: the run index keeps this text per run, so a listing is a join of
 * strings (issue #18). JSON text holds no raw newline inside a value, so indenting every line
 * break is exact.
 */
export function listedRunText(r: RunRecord): string {
  return listedRunTextOf(listedRun(r));
}

/** listedRunText of a run already in its listed form. */
export function listedRunTextOf(listed: ListedRun): string {
  return RUN_INDENT + JSON.stringify(listed, null, 2).replaceAll('\n', `\n${RUN_INDENT}`);
}

/** What comes before the runs' texts, and after them, in a listing of at least one run. */
export const RUNS_JSON_OPEN = `{\n  "schema": "${RUNS_JSON_SCHEMA}",\n  "runs": [\n`;
export const RUNS_JSON_CLOSE = '\n  ]\n}';

/** The text `JSON.stringify({ schema: RUNS_JSON_SCHEMA, runs }, null, 2)` gives, from the runs' texts (listedRunText), joined by ",\n". */
export function runsJsonText(runTexts: readonly string[]): string {
  if (runTexts.length === 0) return `{\n  "schema": "${RUNS_JSON_SCHEMA}",\n  "runs": []\n}`;
  return `${RUNS_JSON_OPEN}${runTexts.join(',\n')}${RUNS_JSON_CLOSE}`;
}
