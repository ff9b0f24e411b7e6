import type { FlowConfig } from '../config/config.js';
import { UsageError } from '../errors/index.js';
import { runRecordPath, type RunRecord } from '../metadata/records.js';
import type { DiskStore } from '../store/types.js';
import { isRunId } from '../store/remote-input.js';
import type { S3Store } from '../store/s3.js';
import { listRemoteRunRecords } from '../store/s3-run-index.js';
import { mirrorLocation, openMirror } from './mirror.js';
import { withRemoteTags } from './tags.js';
import { pullRun, type PullResult } from './pull.js';
import { indexPushedRuns, pushRun, RemoteInventory, type PushResult, type TransferProgress } from './push.js';

/** The project's mirror, or a usage error saying how to configure one. */
export async function requireMirror(config: FlowConfig, command: string): Promise<S3Store> {
  const loc = mirrorLocation(config);
  if (!loc) {
    throw new UsageError('MIRROR_NOT_CONFIGURED', `flow ${command} needs an S3 mirror (mirror.url), and none is configured${config.file ? ` in ${config.file}` : ''}.`, {
      key: 'mirror.url',
      fix: 'Set "mirror": { "url": "s3://bucket/prefix" } in .flowrc (plus "endpoint" and "forcePathStyle" for S3-compatible servers), or FLOW_MIRROR_URL.',
    });
  }
  return openMirror(loc);
}

const byRunNumber = (a: string, b: string) => Number(a.slice(4)) - Number(b.slice(4));

async function runIds(store: { listRecords(dir: string): Promise<string[]> }): Promise<string[]> {
  return (await store.listRecords('runs')).filter(isRunId).sort(byRunNumber);
}

/** Pushes the named runs (default: every local run), oldest first; the inventory is read once. */
export async function pushRuns(local: DiskStore, remote: S3Store, ids: string[], onProgress?: (p: TransferProgress) => void): Promise<PushResult[]> {
  const wanted = ids.length > 0 ? ids : (await runIds(local)).filter((id) => local.readRecordSync(runRecordPath(id)) !== undefined);
  const inventory = await RemoteInventory.read(remote);
  const results: PushResult[] = [];
  try {
    for (const id of wanted) results.push(await pushRun(local, remote, id, inventory, onProgress));
  } finally {
    // Once, for every run pushed (also when a later one failed): one read-modify-write of the index.
    await indexPushedRuns(remote, results);
  }
  return results;
}

/** Pulls the named runs (default: every run on the mirror), oldest first. */
export async function pullRuns(remote: S3Store, local: DiskStore, ids: string[], onProgress?: (p: TransferProgress) => void): Promise<PullResult[]> {
  const wanted = ids.length > 0 ? ids : await remoteRunIds(remote);
  const results: PullResult[] = [];
  for (const id of wanted) results.push(await pullRun(remote, local, id, onProgress));
  return results;
}

/** Runs visible on the mirror: those whose run record has arrived (it is written last). */
export async function remoteRunIds(remote: S3Store): Promise<string[]> {
  return runIds(remote);
}

/**
 * Run records on the mirror, newest first: the runs the listing of runs/ shows, their records
 * from the mirror's run index (src/store/s3-run-index.ts; entries carry the tags of the mirror's
 * tag logs), each checked against its key; a run the index lacks is read from its record and
 * its tag log.
 */
export async function listRemoteRuns(remote: S3Store): Promise<RunRecord[]> {
  return (await listRemoteRunRecords(remote, remoteRunIds, (r) => withRemoteTags(remote, r))).records;
}
