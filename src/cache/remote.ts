import { isFlowError } from '../errors/index.js';
import { type RunRecord, runRecordPath, type TaskRecord } from '../metadata/records.js';
import type { DiskStore, SyncStore } from '../store/types.js';
import { CACHE_BUNDLE_MAX_BYTES, isObjectId, isPlainObject, isRunId, printable, UNDECLARED_OBJECT_MAX_BYTES } from '../store/remote-input.js';
import type { PackEntry, S3Store } from '../store/s3.js';
import { mapLimit } from '../util/map-limit.js';
import { checkRemoteTaskRecord } from '../store/s3-runs.js';
import { ObjectStaging } from '../store/staging.js';
import { objectIdsInBytes } from '../store/types.js';
import { type CacheEntry, entryObjects, entryProblem } from './entry.js';
import { readLocalEntry } from './entries.js';
import type { EntrySource } from './step-cache.js';

/**
 * The step cache on a mirror: one bundle per step key and run, `cache/<k0>/<run>.json`,
 * written when the run is pushed. A bundle holds the run's entries for that step, the entries
 * of the newest earlier bundle carried forward (up to FORWARD_MAX), and where their objects
 * sit in packs. A lookup of a step therefore costs one listing and one GET, whatever the
 * number of its tasks; each hit then fetches its objects (one ranged GET each), verified.
 * Everything read is untrusted: names, sizes, offsets and every entry are checked, and a bad
 * piece is a miss and a warning.
 */
export interface CacheBundle {
  v: 1;
  k0: string;
  run: string;
  entries: CacheEntry[];
  /** Object id → [pack, offset, length] for the objects of these entries that are in packs. */
  packs?: Record<string, [string, number, number]>;
}

export const BUNDLE_DIR = 'cache';
export const bundlePath = (k0: string, run: string) => `${BUNDLE_DIR}/${k0}/${run}.json`;
/** Entries of earlier runs a new bundle carries forward, newest first. */
export const FORWARD_MAX = 1000;

const byRun = (a: string, b: string) => Number(a.slice(4)) - Number(b.slice(4));

/** The runs that have a bundle for a step key (one listing). */
export async function bundleRuns(remote: S3Store, k0: string): Promise<string[]> {
  const prefix = remote.key(`${BUNDLE_DIR}/${k0}/`);
  const runs: string[] = [];
  for await (const { key } of remote.listKeys(prefix)) {
    const name = key.slice(prefix.length);
    if (name.endsWith('.json') && isRunId(name.slice(0, -5))) runs.push(name.slice(0, -5));
  }
  return runs.sort(byRun);
}

/** A bundle, checked: a bad bundle is a problem; bad entries in a sound one are dropped and counted. */
export async function readBundle(remote: S3Store, k0: string, run: string): Promise<{ bundle: CacheBundle; refused: string[] } | { problem: string }> {
  const path = bundlePath(k0, run);
  let value: unknown;
  try {
    value = await remote.readJson(path, CACHE_BUNDLE_MAX_BYTES);
  } catch (e) {
    if (isFlowError(e) && e.exitCode === 3) return { problem: e.message };
    throw e;
  }
  if (value === undefined) return { problem: `${remote.location}${path} is gone` };
  if (!isPlainObject(value) || value.v !== 1 || value.k0 !== k0 || value.run !== run || !Array.isArray(value.entries)) {
    return { problem: `${remote.location}${path} is not the step cache bundle of ${run} for that step` };
  }
  const entries: CacheEntry[] = [];
  const refused: string[] = [];
  for (const e of value.entries as unknown[]) {
    const problem = entryProblem(e, { k0 });
    if (problem) refused.push(problem);
    else entries.push(e as CacheEntry);
  }
  const packs: Record<string, [string, number, number]> = {};
  if (isPlainObject(value.packs)) {
    for (const [hash, at] of Object.entries(value.packs)) {
      if (isObjectId(hash) && Array.isArray(at) && at.length === 3 && isObjectId(at[0]) && Number.isSafeInteger(at[1]) && Number.isSafeInteger(at[2])) packs[hash] = at as [string, number, number];
    }
  }
  return { bundle: { v: 1, k0, run, entries, packs }, refused };
}

/** The mirror as an entry source of a run: the newest bundle of each step key, read once. */
export class MirrorEntries implements EntrySource {
  /** S3 requests made by lookups (listings and bundle GETs), for the run record and the benchmark. */
  requests = 0;
  private readonly bundles = new Map<string, Promise<{ byK1: Map<string, CacheEntry[]>; packs: Record<string, [string, number, number]> }>>();

  constructor(
    private readonly remote: S3Store,
    private readonly local: DiskStore,
  ) {}

  async candidates(k0: string, k1: string, warn: (line: string) => void): Promise<CacheEntry[]> {
    return (await this.step(k0, warn)).byK1.get(k1) ?? [];
  }

  prefetch(k0s: string[], warn: (line: string) => void): void {
    // Eight steps' listings and bundles in flight at once; each is still read once.
    void mapLimit([...new Set(k0s)], 8, (k0) => this.step(k0, warn)).catch(() => undefined);
  }

  private step(k0: string, warn: (line: string) => void): Promise<{ byK1: Map<string, CacheEntry[]>; packs: Record<string, [string, number, number]> }> {
    let step = this.bundles.get(k0);
    if (!step) {
      step = this.load(k0, warn);
      this.bundles.set(k0, step);
    }
    return step;
  }

  private async load(k0: string, warn: (line: string) => void): Promise<{ byK1: Map<string, CacheEntry[]>; packs: Record<string, [string, number, number]> }> {
    const none = { byK1: new Map<string, CacheEntry[]>(), packs: {} };
    let runs: string[];
    try {
      this.requests++;
      runs = await bundleRuns(this.remote, k0);
    } catch (e) {
      warn(`step cache: the mirror ${this.remote.location} cannot be read (${(e as Error).message}); this step's tasks run.`);
      return none;
    }
    const newest = runs.at(-1);
    if (!newest) return none;
    this.requests++;
    let read;
    try {
      read = await readBundle(this.remote, k0, newest);
    } catch (e) {
      warn(`step cache: the mirror's bundle ${bundlePath(k0, newest)} cannot be read (${(e as Error).message}); this step's tasks run.`);
      return none;
    }
    if ('problem' in read) {
      warn(`step cache: the mirror's bundle is refused (${printable(read.problem, 300)}); this step's tasks run.`);
      return none;
    }
    if (read.refused.length > 0) warn(`step cache: ${read.refused.length} entr${read.refused.length === 1 ? 'y' : 'ies'} of the mirror's bundle ${bundlePath(k0, newest)} refused (${printable(read.refused[0]!, 200)}); those tasks run.`);
    const byK1 = new Map<string, CacheEntry[]>();
    for (const e of read.bundle.entries) byK1.set(e.k1, [...(byK1.get(e.k1) ?? []), e]);
    return { byK1, packs: read.bundle.packs ?? {} };
  }

  /**
   * Copies an entry's objects into the local store: its artifacts (each at most the size the
   * entry declares), logs and cards, then the binary parts its artifacts name. Each streams into
   * a staging area and is verified against its hash first; nothing is kept unless all are.
   */
  async fetch(entry: CacheEntry): Promise<void> {
    await this.checkOrigin(entry);
    const hints = (await this.bundles.get(entry.k0))?.packs ?? {};
    const staging = new ObjectStaging(this.local);
    try {
      const get = async (hash: string, maxBytes: number, bound: string) => {
        if (this.local.hasObjectSync(hash) || staging.has(hash)) return;
        const at = Object.hasOwn(hints, hash) ? hints[hash]! : undefined;
        const hinted = at ? await this.remote.getPackedObjectFile(hash, { pack: at[0], offset: at[1], length: at[2] } satisfies PackEntry) : undefined;
        const file = hinted ?? (await this.remote.getObjectFile(hash));
        await staging.put([file], { hash, maxBytes, bound, where: `${this.remote.location} (step cache entry of ${entry.from})` });
      };
      const objects = entryObjects(entry);
      await Promise.all(objects.map((o) => get(o.hash, o.size ?? UNDECLARED_OBJECT_MAX_BYTES, o.size === undefined ? 'the most an object without a declared size may hold' : `the size the step cache entry declares for its ${o.what}`)));
      const parts: Array<Promise<void>> = [];
      for (const o of objects) {
        if (o.size === undefined) continue;
        const doc = staging.has(o.hash) ? staging.read(o.hash) : this.local.getObjectSync(o.hash);
        for (const part of objectIdsInBytes(doc)) parts.push(get(part, o.size, `the size the step cache entry declares for its ${o.what}, which names it`));
      }
      await Promise.all(parts);
      staging.commit();
    } finally {
      staging.discard();
    }
  }

  /**
   * A mirror entry must say what the run it names recorded on the mirror: same artifacts, same
   * logs. A bundle forged on its own (pointing a hit at other objects) is refused; a hit is then
   * never more than what the mirror's run records hold (read once per run: its record bundle).
   */
  private async checkOrigin(entry: CacheEntry): Promise<void> {
    const where = `${entry.run}/${entry.step}/${entry.task}`;
    const bundle = await this.remote.readBundle(entry.run);
    const value = bundle && Object.hasOwn(bundle.records, `${entry.step}/${entry.task}.json`) ? bundle.records[`${entry.step}/${entry.task}.json`] : undefined;
    if (value === undefined) throw new Error(`the mirror has no task record ${where} for it.`);
    const rec = checkRemoteTaskRecord(value, `${this.remote.location}runs/${entry.run}/tasks.bundle.json`, entry.run, entry.step, entry.task);
    for (const [name, out] of Object.entries(entry.outputs)) {
      if (typeof out === 'object' && (!Object.hasOwn(rec.artifacts, name) || rec.artifacts[name]!.hash !== out.hash || rec.artifacts[name]!.size !== out.size)) throw new Error(`its artifact ${name} is not the one the mirror's ${where} recorded.`);
    }
    if (rec.status !== 'ok' || rec.logs.stdout !== entry.logs.stdout || rec.logs.stderr !== entry.logs.stderr) throw new Error(`it does not match the mirror's record of ${where}.`);
  }
}

/**
 * Pushes a run's step cache entries to the mirror, one bundle per step key, after the run
 * itself (its objects are there). A bundle already pushed is left alone. Returns the number
 * of bundles written.
 */
export async function pushCacheEntries(local: SyncStore, remote: S3Store, run: string): Promise<number> {
  const record = local.readRecordSync<RunRecord>(runRecordPath(run));
  if (!record?.cache) return 0;
  const own = new Map<string, CacheEntry[]>();
  for (const step of local.listRecordsSync(`runs/${run}/tasks`)) {
    for (const file of local.listRecordsSync(`runs/${run}/tasks/${step}`)) {
      const rec = local.readRecordSync<TaskRecord>(`runs/${run}/tasks/${step}/${file}`);
      if (!rec?.cache) continue;
      const found = readLocalEntry(local, rec.cache.k1, rec.cache.k2);
      if ('entry' in found && found.entry.run === run) own.set(found.entry.k0, [...(own.get(found.entry.k0) ?? []), found.entry]);
    }
  }
  let packed: Map<string, PackEntry> | undefined;
  try {
    packed = await remote.packedObjects();
  } catch {
    packed = undefined; /* no hints: lookups read objects loose or through the index */
  }
  let written = 0;
  for (const [k0, entries] of own) {
    const runs = await bundleRuns(remote, k0);
    if (runs.includes(run)) continue;
    const newest = runs.filter((r) => byRun(r, run) < 0).at(-1);
    const previous = newest ? await readBundle(remote, k0, newest).catch(() => undefined) : undefined;
    const mine = new Set(entries.map((e) => `${e.k1}/${e.k2}`));
    const forwarded =
      previous && 'bundle' in previous
        ? previous.bundle.entries
            .filter((e) => !mine.has(`${e.k1}/${e.k2}`))
            .sort((a, b) => b.created.localeCompare(a.created))
            .slice(0, FORWARD_MAX)
        : [];
    const packs: Record<string, [string, number, number]> = {};
    const hint = (hash: string) => {
      const at = packed?.get(hash);
      if (at) packs[hash] = [at.pack, at.offset, at.length];
    };
    for (const e of entries) {
      for (const o of entryObjects(e)) {
        hint(o.hash);
        if (o.size !== undefined && local.hasObjectSync(o.hash)) for (const part of objectIdsInBytes(local.getObjectSync(o.hash))) hint(part);
      }
    }
    // Forwarded entries keep their hints (binary parts included: every hint of theirs that is not another entry's object).
    const carried = previous && 'bundle' in previous ? (previous.bundle.packs ?? {}) : {};
    const dropped = new Set(previous && 'bundle' in previous ? previous.bundle.entries.filter((e) => !forwarded.includes(e)).flatMap((e) => entryObjects(e).map((o) => o.hash)) : []);
    for (const [hash, at] of Object.entries(carried)) if (!dropped.has(hash) && !Object.hasOwn(packs, hash)) packs[hash] = at;
    const bundle: CacheBundle = { v: 1, k0, run, entries: [...entries, ...forwarded], packs };
    await remote.writeRecord(bundlePath(k0, run), bundle);
    written++;
  }
  return written;
}

/** Every bundle key of the mirror's step cache: (k0, run) pairs. */
async function allBundles(remote: S3Store): Promise<Array<{ k0: string; run: string }>> {
  const prefix = remote.key(`${BUNDLE_DIR}/`);
  const out: Array<{ k0: string; run: string }> = [];
  for await (const { key } of remote.listKeys(prefix)) {
    const [k0, file, ...rest] = key.slice(prefix.length).split('/');
    if (rest.length === 0 && isObjectId(k0) && file?.endsWith('.json') && isRunId(file.slice(0, -5))) out.push({ k0: k0!, run: file.slice(0, -5) });
  }
  return out;
}

/**
 * Rewrites the mirror's bundles without the entries `drop` picks (a bundle left empty, or one
 * that cannot be read, is deleted). Only bundles of `k0s` are read, when given. Returns the
 * number of entries removed.
 */
async function pruneBundles(remote: S3Store, drop: (e: CacheEntry) => boolean, k0s?: ReadonlySet<string>): Promise<number> {
  let removed = 0;
  for (const { k0, run } of await allBundles(remote)) {
    if (k0s && !k0s.has(k0)) continue;
    const read = await readBundle(remote, k0, run);
    if ('problem' in read) {
      await remote.deleteKeys([bundlePath(k0, run)]);
      continue;
    }
    const kept = read.bundle.entries.filter((e) => !drop(e));
    const gone = read.bundle.entries.length - kept.length + read.refused.length;
    if (gone === 0) continue;
    removed += gone;
    if (kept.length === 0) await remote.deleteKeys([bundlePath(k0, run)]);
    else await remote.writeRecord(bundlePath(k0, run), { ...read.bundle, entries: kept } satisfies CacheBundle);
  }
  return removed;
}

/** flow cache clear --remote: the mirror's entries (of one step, or all). Returns how many went. */
export async function clearRemoteEntries(remote: S3Store, step?: string): Promise<number> {
  if (step === undefined) {
    const bundles = await allBundles(remote);
    let entries = 0;
    for (const { k0, run } of bundles) {
      const read = await readBundle(remote, k0, run).catch(() => undefined);
      entries += read && 'bundle' in read ? read.bundle.entries.length + read.refused.length : 0;
    }
    await remote.deleteKeys(bundles.map((b) => bundlePath(b.k0, b.run)));
    return entries;
  }
  return pruneBundles(remote, (e) => e.step === step);
}

/** flow cache verify: removes the entries whose recomputation differed, wherever a bundle holds them. */
export async function evictRemoteEntries(remote: S3Store, keys: ReadonlyArray<{ k0: string; k1: string; k2: string }>): Promise<number> {
  const doomed = new Set(keys.map((k) => `${k.k1}/${k.k2}`));
  return pruneBundles(remote, (e) => doomed.has(`${e.k1}/${e.k2}`), new Set(keys.map((k) => k.k0)));
}
