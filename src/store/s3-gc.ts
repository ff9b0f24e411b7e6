import { CACHE_DIR, runRecordPath } from '../metadata/records.js';
import { CACHE_BUNDLE_MAX_BYTES, isPlainObject, isRunId } from './remote-input.js';
import { S3Store } from './s3.js';
import { invalidateRemoteRunIndex } from './s3-run-index.js';
import { readRemoteRun } from './s3-runs.js';
import { type GcRunRecords, type GcUnit, SHA256_HEX, type TwoPassCollectable } from './types.js';

/**
 * The S3 store with what `flow gc` needs of a shared store (TwoPassCollectable, types.ts): its
 * units are loose objects (id: the object's key) and packs (id: the pack name, hashes: what its
 * index lists); runs are read as push wrote them (bundled task records), checked against their keys.
 *
 * @example
 * const report = await collectGarbage(await CollectableS3Store.open(loc), { dryRun: true });
 */
export class CollectableS3Store extends S3Store implements TwoPassCollectable {
  override readonly collection = 'two-pass';

  readRunForGc(id: string): Promise<GcRunRecords> {
    return readS3RunForGc(this, id);
  }

  listGcUnits(): AsyncIterable<GcUnit> {
    return s3GcUnits(this);
  }

  deleteRuns(ids: string[]): Promise<void> {
    return deleteS3Runs(this, ids);
  }

  deleteUnits(units: GcUnit[]): Promise<void> {
    return deleteS3Units(this, units);
  }

  pruneCacheEntries(gone: (run: string) => boolean, dryRun: boolean): Promise<number> {
    return pruneS3CacheEntries(this, gone, dryRun);
  }
}

async function readS3RunForGc(s3: S3Store, id: string): Promise<GcRunRecords> {
  const contents = await readRemoteRun(s3, id);
  return { run: contents?.run, tasks: Object.values(contents?.tasks ?? {}) };
}

async function* s3GcUnits(s3: S3Store): AsyncIterable<GcUnit> {
  for await (const { key, size, modified } of s3.listKeys(s3.key('objects/'))) {
    const name = key.slice(key.lastIndexOf('/') + 1);
    if (SHA256_HEX.test(name)) yield { id: key, hashes: [name], size, modified: modified ?? new Date(0) };
  }
  const members = new Map<string, string[]>();
  for (const [hash, entry] of await s3.packedObjects()) members.set(entry.pack, [...(members.get(entry.pack) ?? []), hash]);
  for await (const { key, size, modified } of s3.listKeys(s3.key('packs/'))) {
    if (!key.endsWith('.pack')) continue;
    const pack = key.slice(key.lastIndexOf('/') + 1, -'.pack'.length);
    // A pack without an index (an interrupted push) holds nothing reachable.
    yield { id: pack, hashes: members.get(pack) ?? [], size, modified: modified ?? new Date(0) };
  }
}

async function deleteS3Runs(s3: S3Store, runs: string[]): Promise<void> {
  if (runs.length === 0) return;
  // Index entries go before their records, so no reader is served the entry of a deleted run.
  await invalidateRemoteRunIndex(s3, runs);
  for (const id of runs) {
    await s3.deleteKeys([runRecordPath(id)]);
    const keys: string[] = [];
    for await (const { key } of s3.listKeys(s3.key(`runs/${id}/`))) keys.push(key.slice(s3.loc.prefix.length));
    await s3.deleteKeys(keys);
  }
}

async function deleteS3Units(s3: S3Store, units: GcUnit[]): Promise<void> {
  const keys: string[] = [];
  for (const u of units) {
    if (u.id.includes('/')) keys.push(u.id.slice(s3.loc.prefix.length));
    // The index goes before the pack, as push writes the pack before the index.
    else keys.push(`packs/${u.id}.idx.json`);
  }
  await s3.deleteKeys(keys);
  await s3.deleteKeys(units.filter((u) => !u.id.includes('/')).map((u) => `packs/${u.id}.pack`));
}

/** Step cache bundles: a bundle of runs that are all gone goes; one with some kept is written again without the others. */
async function pruneS3CacheEntries(s3: S3Store, gone: (run: string) => boolean, dryRun: boolean): Promise<number> {
  const prefix = s3.key(`${CACHE_DIR}/`);
  let dropped = 0;
  const doomed: string[] = [];
  for await (const { key } of s3.listKeys(prefix)) {
    const rel = key.slice(s3.loc.prefix.length);
    const [k0, file, ...rest] = key.slice(prefix.length).split('/');
    const run = file?.endsWith('.json') ? file.slice(0, -5) : '';
    if (rest.length > 0 || !SHA256_HEX.test(k0 ?? '') || !isRunId(run) || gone(run)) {
      doomed.push(rel);
      continue;
    }
    // A kept bundle may carry entries of runs that are gone: it is written again without them.
    let bundle: unknown;
    try {
      bundle = await s3.readJson(rel, CACHE_BUNDLE_MAX_BYTES);
    } catch {
      bundle = undefined;
    }
    if (!isPlainObject(bundle) || !Array.isArray(bundle.entries)) {
      doomed.push(rel);
      continue;
    }
    const entries = bundle.entries as unknown[];
    const kept = entries.filter((e) => isPlainObject(e) && isRunId(e.run) && !gone(e.run));
    if (kept.length === entries.length) continue;
    dropped += entries.length - kept.length;
    if (dryRun) continue;
    if (kept.length === 0) doomed.push(rel);
    else await s3.writeRecord(rel, { ...bundle, entries: kept });
  }
  if (!dryRun) await s3.deleteKeys(doomed);
  return dropped + doomed.length;
}
