import { NotFoundError, RemoteError, StoreError } from '../errors/index.js';
import { runRecordPath, type RunRecord, type TaskRecord } from '../runtime/records.js';
import type { LocalStore } from '../store/local.js';
import { mapLimit, verifyObjectFile, type S3Store } from '../store/s3.js';
import { closest } from '../util/suggest.js';
import { objectIdsIn, objectIdsInBytes } from '../store/types.js';
import { sameRun, type TransferProgress } from './push.js';

const PARALLEL = 8;

export interface PullResult {
  run: string;
  status: 'pulled' | 'up-to-date';
  objects: number;
  bytes: number;
}

/**
 * Copies one run from the mirror into the local store: objects first, each verified against its
 * sha256 before it is written (a bad one stops the pull with nothing of this run recorded), then
 * the task records, and the run record last, as push does.
 */
export async function pullRun(remote: S3Store, local: LocalStore, id: string, onProgress?: (p: TransferProgress) => void): Promise<PullResult> {
  const run = /^run-\d+$/.test(id) ? await remote.readRecord<RunRecord>(runRecordPath(id)) : undefined;
  if (!run) {
    const guess = closest(id, await remote.listRecords('runs'));
    throw new NotFoundError('RUN_NOT_FOUND', `There is no run ${id} on the mirror ${remote.location}.`, { fix: guess ? `Did you mean ${guess}? (flow runs --remote lists them)` : 'flow runs --remote lists the runs on the mirror.' });
  }
  const mine = local.readRecordSync<RunRecord>(runRecordPath(id));
  if (mine && !sameRun(mine, run)) {
    throw new RemoteError('RUN_ID_CONFLICT', `The local ${id} (${mine.flow}, started ${mine.started} on ${mine.host}) is a different run than ${id} on the mirror ${remote.location}.`, {
      fix: 'The local run was made before the mirror was configured. Move the local store aside to pull this one.',
    });
  }
  if (mine && JSON.stringify(mine) === JSON.stringify(run)) return { run: id, status: 'up-to-date', objects: 0, bytes: 0 };

  const tasks = await remoteTasks(remote, id);
  const progress: TransferProgress = { run: id, objectsDone: 0, objectsTotal: 0, bytesDone: 0, bytesTotal: 0 };
  const fetcher = new ObjectFetcher(remote, local, (bytes) => { progress.objectsDone++; progress.bytesDone += bytes; onProgress?.({ ...progress }); });

  // Artifacts and logs must exist; other 64-hex strings in records are objects only if present.
  const required = new Set<string>();
  for (const t of Object.values(tasks)) {
    for (const ref of Object.values(t.artifacts ?? {})) required.add(ref.hash);
    if (t.logs) { required.add(t.logs.stdout); required.add(t.logs.stderr); }
  }
  const optional = new Set([...objectIdsIn(JSON.stringify(run)), ...objectIdsIn(JSON.stringify(tasks))].filter((h) => !required.has(h)));
  progress.objectsTotal = required.size + optional.size;
  await fetcher.fetch([...required], true);
  await fetcher.fetch([...optional], false);
  // Binary parts of artifacts are named inside the artifact objects, now local.
  const parts = new Set<string>();
  for (const t of Object.values(tasks)) {
    for (const ref of Object.values(t.artifacts ?? {})) for (const part of objectIdsInBytes(local.getObjectSync(ref.hash))) parts.add(part);
  }
  progress.objectsTotal += parts.size;
  await fetcher.fetch([...parts], false);

  const claim = await remote.readRecord<unknown>(`runs/${id}/claim.json`);
  if (claim !== undefined) local.createRecordSync(`runs/${id}/claim.json`, claim);
  for (const [rel, rec] of Object.entries(tasks)) local.writeRecordSync(`runs/${id}/tasks/${rel}`, rec);
  local.writeRecordSync(runRecordPath(id), run, true);
  return { run: id, status: 'pulled', objects: fetcher.fetched, bytes: fetcher.bytes };
}

/** A run's task records on the mirror: the push bundle, plus loose records (written by Batch tasks). */
async function remoteTasks(remote: S3Store, id: string): Promise<Record<string, TaskRecord>> {
  const tasks: Record<string, TaskRecord> = { ...((await remote.readBundle(id))?.records as Record<string, TaskRecord> | undefined) };
  const prefix = remote.key(`runs/${id}/tasks/`);
  const loose: string[] = [];
  for await (const { key } of remote.listKeys(prefix)) if (key.endsWith('.json')) loose.push(key.slice(prefix.length));
  await mapLimit(loose.filter((rel) => !(rel in tasks)), PARALLEL, async (rel) => {
    const rec = await remote.readRecord<TaskRecord>(`runs/${id}/tasks/${rel}`);
    if (rec) tasks[rel] = rec;
  });
  return tasks;
}

/** Fetches objects the local store lacks, whole packs when several members are wanted. */
class ObjectFetcher {
  fetched = 0;
  bytes = 0;

  constructor(private readonly remote: S3Store, private readonly local: LocalStore, private readonly tick: (bytes: number) => void) {}

  async fetch(hashes: string[], required: boolean): Promise<void> {
    const want = [];
    for (const h of hashes) if (!(await this.local.hasObject(h))) want.push(h); else this.tick(0);
    const packed = await this.remote.packedObjects();
    const byPack = new Map<string, string[]>();
    const loose: string[] = [];
    for (const h of want) {
      const entry = packed.get(h);
      if (entry) byPack.set(entry.pack, [...(byPack.get(entry.pack) ?? []), h]);
      else loose.push(h);
    }
    const wholePacks = [...byPack].filter(([, members]) => members.length > 1);
    for (const [, members] of byPack) if (members.length === 1) loose.push(members[0]!);
    await mapLimit(wholePacks, 4, async ([pack, members]) => {
      const body = await this.remote.getPack(pack);
      for (const h of members) {
        const e = packed.get(h)!;
        const file = body && body.byteLength >= e.offset + e.length ? body.subarray(e.offset, e.offset + e.length) : await this.remote.getObjectFile(h);
        this.store(h, file);
      }
    });
    await mapLimit(loose, PARALLEL, async (h) => {
      let file: Buffer;
      try {
        file = await this.remote.getObjectFile(h);
      } catch (e) {
        if (!required && e instanceof StoreError && e.code === 'STORE_MISSING_OBJECT') return;
        throw e;
      }
      this.store(h, file);
    });
  }

  private store(hash: string, file: Buffer): void {
    const data = verifyObjectFile(file, hash, `${this.remote.location}objects/${hash.slice(0, 2)}/${hash}`);
    this.local.putObjectSync(data, { compress: data.byteLength < (1 << 20) });
    this.fetched++;
    this.bytes += file.byteLength;
    this.tick(file.byteLength);
  }
}
