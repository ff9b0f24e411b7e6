import { type RunRecord, runRecordPath } from '../metadata/records.js';
import { orphaned, withLiveness } from '../metadata/liveness.js';
import type { SyncStore } from '../store/types.js';
import { type IndexedListing, indexedRunListing, indexedRunRecords } from '../store/run-index.js';
import { byNewest } from '../store/run-index-file.js';
import { withTagLog } from '../metadata/tags.js';
import { readTagLog } from './tags.js';
import { matchesQuery, type RunQuery, type RunView, runView } from '../metadata/run-query.js';
import { listedRunText, RUNS_JSON_CLOSE, RUNS_JSON_OPEN, runsJsonText } from '../metadata/listed-run.js';
import { checkRunRecord } from '../metadata/record-check.js';
import { recordLocation } from '../store/types.js';
import type { ChunkedBytes } from '../util/chunked.js';

/** Runs in a store, newest first, their tags merged with their tag logs: run records through the store's run index, and tag logs. */
export async function listRuns(store: SyncStore): Promise<RunRecord[]> {
  const runs = [...indexedRunRecords(store).records.values()].map((r) => withTagLog(withLiveness(r), readTagLog(store, r.id)));
  return runs.sort(byNewest);
}

/**
 * `flow runs --json`'s output for the runs of a store that match a query, in pieces to print one
 * after the other (strings, and slices of the run index file's bytes: ASCII, read when written, undecoded): the same text as
 * `JSON.stringify({ schema, runs: listedRun(r) for each of listRuns(store) selected }, null, 2)`,
 * made of the run index's texts (issue #18). A run whose tag log or liveness changes how it is
 * listed (rare: tagged after the fact, or killed while running) is read from its record and
 * printed again.
 */
export function listRunsJsonText(store: SyncStore, q: RunQuery): Array<string | ChunkedBytes> {
  const runs: Array<{ view: RunView } & Pick<IndexedListing, 'text' | 'stored'>> = [];
  for (const { name, summary, text, stored, tagLog } of indexedRunListing(store)) {
    const log = tagLog === false ? [] : readTagLog(store, summary.id);
    if (log.length === 0 && !orphaned(summary)) {
      runs.push({ view: summary, text, stored });
      continue;
    }
    const value = store.readRecordSync<unknown>(runRecordPath(name));
    if (value === undefined) continue; // removed since: no longer listed
    const r = withTagLog(withLiveness(checkRunRecord(value, recordLocation(store, runRecordPath(name)))), log);
    runs.push({ view: runView(r), text: listedRunText(r) });
  }
  // Already newest first; sorted again as listRuns sorts (stable: the same order for equal numbers).
  runs.sort((a, b) => byNewest(a.view, b.view));
  const selected = runs.filter((r) => matchesQuery(r.view, q));
  return runsJsonPieces(q.limit === undefined ? selected : selected.slice(0, q.limit));
}

/**
 * runsJsonText of the runs, as pieces whose concatenation it is: the texts of runs stored one
 * after the other in the index are one slice of its texts section (1,000 runs unfiltered: one
 * piece), so the output is never copied into one string.
 */
function runsJsonPieces(runs: ReadonlyArray<Pick<IndexedListing, 'text' | 'stored'>>): Array<string | ChunkedBytes> {
  if (runs.length === 0) return [runsJsonText([])];
  const pieces: Array<string | ChunkedBytes> = [RUNS_JSON_OPEN];
  let i = 0;
  while (i < runs.length) {
    const first = runs[i]!;
    let end = i + 1;
    if (first.stored) {
      // Extend the slice while the next run's text follows this one's ",\n" in the same section.
      let next = first.stored.at + first.stored.length + 2;
      while (end < runs.length && runs[end]!.stored?.section === first.stored.section && runs[end]!.stored!.at === next) {
        next += runs[end]!.stored!.length + 2;
        end++;
      }
      // The index file's bytes, read when printed.
      pieces.push(first.stored.section.slice(first.stored.at, next - 2 - first.stored.at));
    } else pieces.push(first.text ?? '');
    if (end < runs.length) pieces.push(',\n');
    i = end;
  }
  pieces.push(RUNS_JSON_CLOSE);
  return pieces;
}

export { withLiveness };
