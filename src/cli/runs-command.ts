import { listRuns, openStore } from '../client/client.js';
import { listRunsJsonText } from '../client/list-runs.js';
import { listedRunText, runsJsonText } from '../metadata/listed-run.js';
import { loadConfig } from '../config/config.js';
import type { RunRecord } from '../metadata/records.js';
import { type ListedStatus, type RunQuery, selectRuns } from '../metadata/run-query.js';
import type { ChunkedBytes } from '../util/chunked.js';

export interface RunsFilters {
  flow?: string;
  tags?: string[];
  status?: string;
  user?: string;
  limit?: number;
  remote?: boolean;
}

/** `flow runs`: the local store's runs (or the mirror's), newest first, filtered; every user's, replays included. */
export async function listRunsCommand(f: RunsFilters): Promise<RunRecord[]> {
  let all: RunRecord[];
  if (f.remote) {
    // Loaded only here: the S3 client is not needed to list the local store.
    const { listRemoteRuns, requireMirror } = await import('../mirror/sync.js');
    all = await listRemoteRuns(await requireMirror(loadConfig(process.cwd()), 'runs --remote'));
  } else {
    all = await listRuns(openStore());
  }
  return selectRuns(all, query(f));
}

/**
 * `flow runs --json`: the text `JSON.stringify({ schema, runs: runsJson(listRunsCommand(f)) }, null, 2)`
 * gives, in pieces to print one after the other, made for the local store from the run index's
 * texts (issue #18: no record parsed or stringified per run).
 */
export async function listRunsJsonCommand(f: RunsFilters): Promise<Array<string | ChunkedBytes>> {
  if (f.remote) return [runsJsonText((await listRunsCommand(f)).map(listedRunText))];
  return listRunsJsonText(openStore(), query(f));
}

const query = (f: RunsFilters): RunQuery => ({ flow: f.flow, tags: f.tags, status: f.status as ListedStatus | undefined, user: f.user, limit: f.limit });
