import { readFileSync, statSync } from 'node:fs';
import { NotFoundError, RemoteError, StoreError } from '../errors/index.js';
import { runRecordPath, type RunRecord } from '../metadata/records.js';
import type { DiskStore } from '../store/types.js';
import { verifyObjectFile, type S3Store } from '../store/s3.js';
import { mapLimit } from '../util/map-limit.js';
import { invalidateRemoteRunIndex, updateRemoteRunIndex } from '../store/s3-run-index.js';
import { formatBytes } from '../util/bytes.js';
import { runContents } from './contents.js';
import { pushTagLog, withRemoteTags } from './tags.js';

/** Objects below this go into packs; bigger ones are uploaded on their own. */
const PACK_MEMBER_MAX = 4 << 20;
/** A pack is closed once it reaches this size. */
const PACK_TARGET = 32 << 20;
/** Uploads in flight at once. */
const PARALLEL = 6;

export interface TransferProgress {
  run: string;
  objectsDone: number;
  objectsTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface PushResult {
  run: string;
  status: 'pushed' | 'up-to-date' | 'skipped';
  reason?: string;
  objects: number;
  bytes: number;
  packs: number;
  /** The run record now on the mirror (pushed or up to date), its tags merged with the mirror's tag log: the mirror's run index entry. */
  record?: RunRecord;
  /** Tag log entries copied (flow tag). */
  tags?: number;
}

/** What the remote already holds, learned in bulk (one listing, not one HEAD per object). */
export class RemoteInventory {
  private constructor(readonly objects: Set<string>) {}

  static async read(remote: S3Store): Promise<RemoteInventory> {
    const objects = new Set<string>();
    for await (const { hash } of remote.listObjectSizes()) objects.add(hash);
    for (const hash of (await remote.packedObjects()).keys()) objects.add(hash);
    return new RemoteInventory(objects);
  }
}

/**
 * Pushes one finished run: objects first (small ones packed, each pack before its index), then
 * the run's claim and its task records (one bundle), and the run record last. A remote reader
 * therefore never sees a run record whose objects are missing, and an interrupted push is simply
 * repeated: the next one lists what arrived and sends the rest.
 */
export async function pushRun(local: DiskStore, remote: S3Store, id: string, inventory: RemoteInventory, onProgress?: (p: TransferProgress) => void): Promise<PushResult> {
  const contents = await runContents(local, id);
  if (!contents) throw new NotFoundError('RUN_NOT_FOUND', `There is no run ${id} in the local store ${local.location}.`, { fix: 'flow runs lists the local runs; flow runs --remote lists the mirror.' });
  const { run } = contents;
  if (run.status === 'running') return { run: id, status: 'skipped', reason: 'still running (or killed: finish it with flow resume first)', objects: 0, bytes: 0, packs: 0 };

  const remoteRun = await remote.readRecord<RunRecord>(runRecordPath(id));
  if (remoteRun && !sameRun(remoteRun, run)) {
    throw new RemoteError('RUN_ID_CONFLICT', `${id} on the mirror ${remote.location} is a different run (${remoteRun.flow}, started ${remoteRun.started} on ${remoteRun.host}) than the local ${id} (${run.flow}, started ${run.started} on ${run.host}).`, {
      fix: 'This run was made before the mirror was configured; run ids are claimed on the mirror from now on. Keep it local, or rerun it.',
    });
  }
  if (remoteRun && JSON.stringify(remoteRun) === JSON.stringify(run)) {
    // The record is there; tags added since (flow tag) still travel.
    const tags = await pushTagLog(local, remote, id);
    return { run: id, status: tags ? 'pushed' : 'up-to-date', objects: 0, bytes: 0, packs: 0, record: await withRemoteTags(remote, run), ...(tags ? { tags } : {}) };
  }

  const missing = [...contents.objects].filter((h) => !inventory.objects.has(h)).sort();
  const files = missing.map((hash) => ({ hash, path: local.objectPath(hash) }));
  const sizes = files.map((f) => fileSize(f.path));
  const progress: TransferProgress = { run: id, objectsDone: 0, objectsTotal: files.length, bytesDone: 0, bytesTotal: sizes.reduce((a, b) => a + b, 0) };
  onProgress?.(progress);
  const done = (count: number, bytes: number) => {
    progress.objectsDone += count;
    progress.bytesDone += bytes;
    onProgress?.({ ...progress });
  };

  const { packs, singles } = planPacks(files.map((f, i) => ({ ...f, size: sizes[i]! })));
  await mapLimit([...packs.map((p) => ({ pack: p })), ...singles.map((s) => ({ single: s }))], PARALLEL, async (job) => {
    if ('pack' in job) {
      const members = job.pack.map((m) => ({ hash: m.hash, file: readVerified(m.hash, m.path) }));
      await remote.putPack(members);
      done(
        members.length,
        members.reduce((a, m) => a + m.file.byteLength, 0),
      );
    } else {
      const file = readVerified(job.single.hash, job.single.path);
      await remote.putObjectFile(job.single.hash, file);
      done(1, file.byteLength);
    }
  });
  for (const h of missing) inventory.objects.add(h);

  if (contents.claim !== undefined) await remote.createRecord(`runs/${id}/claim.json`, contents.claim);
  await remote.writeBundle(id, contents.tasks);
  // A record already on the mirror is about to change: its index entry goes first, so a push
  // killed after this point leaves the run without an entry (read from its record), never stale.
  if (remoteRun) await invalidateRemoteRunIndex(remote, [id]);
  await remote.writeRecord(runRecordPath(id), run);
  const tags = await pushTagLog(local, remote, id);
  return { run: id, status: 'pushed', objects: files.length, bytes: progress.bytesTotal, packs: packs.length, record: await withRemoteTags(remote, run), ...(tags ? { tags } : {}) };
}

/**
 * Adds the records of pushed (and up-to-date) runs to the mirror's run index, in one
 * read-modify-write. Best effort: the runs are on the mirror whatever happens here, and a run the
 * index lacks is read from its record (and added) by the next `flow runs --remote`.
 */
export async function indexPushedRuns(remote: S3Store, results: PushResult[]): Promise<void> {
  const add = results.flatMap((r) => (r.record ? [r.record] : []));
  if (add.length === 0) return;
  try {
    await updateRemoteRunIndex(remote, { add });
  } catch {
    // The mirror failed after the push: the index is a cache.
  }
}

/**
 * `flow run`'s automatic push of a finished run. A failure never fails the run: the run stays
 * intact locally, and the warning says how to retry.
 */
export async function pushAfterRun(local: DiskStore, remote: S3Store, id: string, say: (line: string) => void): Promise<PushResult | undefined> {
  try {
    const result = await pushRun(local, remote, id, await RemoteInventory.read(remote));
    await indexPushedRuns(remote, [result]);
    if (result.status === 'pushed') say(`${id}: pushed to ${remote.location} (${result.objects} objects, ${formatBytes(result.bytes)})`);
    return result;
  } catch (e) {
    say(`warning: pushing ${id} to ${remote.location} failed: ${(e as Error).message} The run is intact locally; \`flow push ${id}\` retries.`);
    return undefined;
  }
}

/** Two records describe the same run when they share its identity (status may have moved on). */
export function sameRun(a: RunRecord, b: RunRecord): boolean {
  return a.flow === b.flow && a.started === b.started && a.host === b.host && a.pid === b.pid;
}

interface LocalObject {
  hash: string;
  path: string;
  size: number;
}

/** Groups small objects into packs of about PACK_TARGET bytes; big ones travel alone. */
export function planPacks(objects: LocalObject[]): { packs: LocalObject[][]; singles: LocalObject[] } {
  const packs: LocalObject[][] = [];
  const singles: LocalObject[] = [];
  let current: LocalObject[] = [];
  let size = 0;
  for (const o of objects) {
    if (o.size > PACK_MEMBER_MAX) {
      singles.push(o);
      continue;
    }
    current.push(o);
    size += o.size;
    if (size >= PACK_TARGET) {
      packs.push(current);
      current = [];
      size = 0;
    }
  }
  if (current.length === 1) singles.push(current[0]!);
  else if (current.length > 1) packs.push(current);
  return { packs, singles };
}

/** The object file's bytes, verified against its hash so a corrupt local copy never spreads. */
function readVerified(hash: string, path: string): Buffer {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch (e) {
    throw new StoreError('STORE_MISSING_OBJECT', `Object ${hash} is missing from the local store (${path}): ${(e as Error).message}.`, { file: path, fix: 'Run flow fsck; nothing was pushed for this run.' });
  }
  verifyObjectFile(file, hash, path);
  return file;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
