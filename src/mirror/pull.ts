import { NotFoundError, RemoteError } from '../errors/index.js';
import { runRecordPath, type RunRecord } from '../metadata/records.js';
import type { DiskStore } from '../store/types.js';
import { isRunId, printable, UNDECLARED_OBJECT_MAX_BYTES } from '../store/remote-input.js';
import type { S3Store } from '../store/s3.js';
import { readRemoteRun, type RemoteRun } from '../store/s3-runs.js';
import { ObjectStaging } from '../store/staging.js';
import { closest } from '../util/suggest.js';
import { objectIdsIn, objectIdsInBytes } from '../store/types.js';
import { ObjectFetcher, type WantedObject } from './fetch.js';
import { sameRun, type TransferProgress } from './push.js';
import { fetchTagLog } from './tags.js';

export interface PullResult {
  run: string;
  status: 'pulled' | 'up-to-date';
  objects: number;
  bytes: number;
  /** Tag log entries copied (flow tag). */
  tags?: number;
}

/**
 * Copies one run from the mirror into the local store. The mirror is untrusted input: every
 * record is read (bounded) and checked against its key first, so a forged one stops the pull
 * (STORE_CORRUPT_RECORD naming the key) before anything is written. Objects then stream into a
 * staging area, each verified as it arrives against its sha256 and against the size its record
 * declares; only when all verified do they move into the store, then the task records, and the
 * run record last, as push does. A failed pull leaves the local store as it was.
 */
export async function pullRun(remote: S3Store, local: DiskStore, id: string, onProgress?: (p: TransferProgress) => void): Promise<PullResult> {
  const contents = isRunId(id) ? await readRemoteRun(remote, id) : undefined;
  if (!contents) {
    const guess = closest(id, await remote.listRecords('runs'));
    throw new NotFoundError('RUN_NOT_FOUND', `There is no run ${printable(id)} on the mirror ${remote.location}.`, { fix: guess ? `Did you mean ${printable(guess)}? (flow runs --remote lists them)` : 'flow runs --remote lists the runs on the mirror.' });
  }
  const { run, claim, tasks } = contents;
  const mine = local.readRecordSync<RunRecord>(runRecordPath(id));
  if (mine && !sameRun(mine, run)) {
    throw new RemoteError('RUN_ID_CONFLICT', `The local ${id} (${mine.flow}, started ${mine.started} on ${mine.host}) is a different run than ${id} on the mirror ${remote.location}.`, {
      fix: 'The local run was made before the mirror was configured. Move the local store aside to pull this one.',
    });
  }
  // Tag entries are read and checked before anything is written; they are written after the run.
  const tagLog = await fetchTagLog(remote, local, id);
  if (mine && JSON.stringify(mine) === JSON.stringify(run)) {
    tagLog.write();
    return { run: id, status: tagLog.entries ? 'pulled' : 'up-to-date', objects: 0, bytes: 0, ...(tagLog.entries ? { tags: tagLog.entries } : {}) };
  }

  const wanted = wantedObjects(contents);
  const progress: TransferProgress = { run: id, objectsDone: 0, objectsTotal: wanted.size, bytesDone: 0, bytesTotal: 0 };
  const staging = new ObjectStaging(local);
  try {
    const fetcher = new ObjectFetcher(remote, local, staging, (bytes) => {
      progress.objectsDone++;
      progress.bytesDone += bytes;
      onProgress?.({ ...progress });
    });
    await fetcher.fetch([...wanted.values()].filter((w) => w.required));
    await fetcher.fetch([...wanted.values()].filter((w) => !w.required));
    // Binary parts of artifacts are named inside the artifact objects (now verified), bounded by the artifact's size.
    const parts = new Map<string, WantedObject>();
    for (const [rel, t] of Object.entries(tasks)) {
      for (const [name, ref] of Object.entries(t.artifacts)) {
        const doc = staging.has(ref.hash) ? staging.read(ref.hash) : local.getObjectSync(ref.hash);
        for (const part of objectIdsInBytes(doc)) if (!wanted.has(part)) parts.set(part, declared(parts.get(part), part, ref.size, `the size ${rel} declares for artifact ${name}, which names it`, false));
      }
    }
    progress.objectsTotal += parts.size;
    await fetcher.fetch([...parts.values()]);
    staging.commit();

    if (claim !== undefined) local.createRecordSync(`runs/${id}/claim.json`, claim);
    for (const [rel, rec] of Object.entries(tasks)) local.writeRecordSync(`runs/${id}/tasks/${rel}`, rec);
    local.writeRecordSync(runRecordPath(id), run, true);
    tagLog.write();
    return { run: id, status: 'pulled', objects: fetcher.fetched, bytes: fetcher.bytes, ...(tagLog.entries ? { tags: tagLog.entries } : {}) };
  } finally {
    staging.discard();
  }
}

/**
 * What a run's records reference, each with the most bytes it may hold: artifacts and included
 * files by the size their record declares, everything else (logs, code package, locks) by
 * UNDECLARED_OBJECT_MAX_BYTES. Artifacts and logs must exist; other ids are fetched if present.
 */
function wantedObjects({ run, tasks }: RemoteRun): Map<string, WantedObject> {
  const wanted = new Map<string, WantedObject>();
  const add = (hash: string, size: number | undefined, bound: string, required: boolean) => wanted.set(hash, declared(wanted.get(hash), hash, size, bound, required));
  for (const [rel, t] of Object.entries(tasks)) {
    for (const [name, ref] of Object.entries(t.artifacts)) add(ref.hash, ref.size, `the size ${rel} declares for artifact ${name}`, true);
    add(t.logs.stdout, undefined, 'the most a log may hold', true);
    add(t.logs.stderr, undefined, 'the most a log may hold', true);
  }
  for (const [name, inc] of Object.entries(run.includes ?? {})) add(inc.hash, inc.size, `the size the run record declares for included file ${name}`, false);
  for (const hash of [...objectIdsIn(JSON.stringify(run)), ...objectIdsIn(JSON.stringify(tasks))]) if (!wanted.has(hash)) add(hash, undefined, 'the most an object without a declared size may hold', false);
  return wanted;
}

/** Merges a reference into what is known of an object: the largest bound wins (an undeclared one is the cap). */
function declared(known: WantedObject | undefined, hash: string, size: number | undefined, bound: string, required: boolean): WantedObject {
  const maxBytes = size ?? UNDECLARED_OBJECT_MAX_BYTES;
  if (!known) return { hash, maxBytes, bound, required };
  const wider = maxBytes > known.maxBytes;
  return { hash, maxBytes: wider ? maxBytes : known.maxBytes, bound: wider ? bound : known.bound, required: known.required || required };
}
