import { listRuns, openStore } from '../client/client.js';
import { loadConfig } from '../config/config.js';
import type { RunRecord } from '../metadata/records.js';
import { type ListedStatus, selectRuns } from '../metadata/run-query.js';

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
  return selectRuns(all, { flow: f.flow, tags: f.tags, status: f.status as ListedStatus | undefined, user: f.user, limit: f.limit });
}
