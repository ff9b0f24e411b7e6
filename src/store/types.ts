import { join } from 'node:path';
import type { RunRecord, TaskRecord } from '../metadata/records.js';

/**
 * The store interface (DESIGN §4). One implementation per medium (local disk now, S3 later),
 * all passing the same conformance suite. Objects are immutable and content-addressed by the
 * sha256 of their logical bytes; records are small JSON documents at paths, written after the
 * objects they reference.
 */
export interface Store {
  /** Human-readable location, for messages. */
  readonly location: string;
  /**
   * How `flow gc` collects this store, declared by each implementation so gc never guesses from
   * its methods: 'one-pass' (a store of this machine: a `Collectable`), 'two-pass' (a store shared
   * between machines, mark then sweep: a `TwoPassCollectable`).
   */
  readonly collection: 'one-pass' | 'two-pass';

  /** Stores bytes; returns their sha256. Idempotent; a crash never leaves a partial object. */
  putObject(data: Uint8Array, options?: { compress?: boolean }): Promise<string>;
  /** Reads an object and verifies its hash (StoreError STORE_CORRUPT_OBJECT / STORE_MISSING_OBJECT). */
  getObject(hash: string): Promise<Buffer>;
  hasObject(hash: string): Promise<boolean>;
  /** Every object hash in the store. */
  listObjects(): AsyncIterable<string>;

  /** Writes a JSON record atomically (readers see the old or the new document, never a mix). */
  writeRecord(path: string, value: unknown): Promise<void>;
  /** Reads a JSON record; undefined when absent; StoreError when unreadable. */
  readRecord<T>(path: string): Promise<T | undefined>;
  /** Names directly under a record directory (sorted). */
  listRecords(dir: string): Promise<string[]>;
  /** Creates `path` only if it does not exist; returns false when it already did. */
  createRecord(path: string, value: unknown): Promise<boolean>;
}

/**
 * The synchronous capability of a store held by this process or this machine (local disk, memory).
 * It is real, not a convenience: a step reads its inputs through synchronous artifact getters in
 * the task worker, and the scheduler, the client and the step cache read records in tight loops.
 * A remote store (S3) has no such access and does not implement it. Same contract as the async
 * methods of `Store`, which an implementation may simply wrap around these.
 */
export interface SyncStore extends Store {
  putObjectSync(data: Uint8Array, options?: { compress?: boolean }): string;
  getObjectSync(hash: string): Buffer;
  hasObjectSync(hash: string): boolean;
  /** `durable`: also fsync the file and its directory (records a crash must not lose, such as run.json). */
  writeRecordSync(path: string, value: unknown, durable?: boolean): void;
  readRecordSync<T>(path: string): T | undefined;
  listRecordsSync(dir: string): string[];
  createRecordSync(path: string, value: unknown): boolean;
  /**
   * Removes a record (nothing when it is absent), then its directory if that is left empty (the
   * step cache drops a refused entry so, and its task key's directory with its last entry).
   */
  deleteRecordSync(path: string): void;
}

/** A stored unit `flow gc` may delete: an object, or debris of an interrupted write (holding none). */
export interface GcUnit {
  id: string;
  hashes: string[];
  size: number;
  modified: Date;
}

/**
 * What `flow gc` needs of a store on this machine (local disk, memory) beyond its records:
 * its units with their ages, and deletion. Runs in it are this machine's (their liveness is
 * known), and a dedup hit refreshes an object's age, so one pass is safe.
 */
export interface Collectable extends SyncStore {
  readonly collection: 'one-pass';
  /** Every unit gc may delete; a symlink met on the way is never followed nor returned: its path goes to `skipped`. */
  gcUnits(skipped: string[]): Iterable<GcUnit>;
  /** Deletes a run: its run record first (a run without it is invisible, never half-readable), then the rest. */
  deleteRun(id: string): void;
  deleteUnit(unit: GcUnit): void;
}

/** A run's records as gc reads them to know what the run references (checked against their schemas). */
export interface GcRunRecords {
  run: RunRecord | undefined;
  tasks: TaskRecord[];
}

/**
 * What `flow gc` needs of a store shared between machines (S3). A push from another machine may
 * start relying on an old object at any moment (it skips uploading what is there), so gc marks
 * unreferenced units on one pass and deletes them on a later one (gc.ts); object ages alone do
 * not protect them. Runs are read as the store holds them (bundled task records on S3).
 */
export interface TwoPassCollectable extends Store {
  readonly collection: 'two-pass';
  /** A run's records, checked; a record that cannot be read rejects with a StoreError. */
  readRunForGc(id: string): Promise<GcRunRecords>;
  /** Every unit gc may delete (loose objects, packs with the objects their index lists). */
  listGcUnits(): AsyncIterable<GcUnit>;
  /** Deletes runs, each run record first; no index of runs is left naming one of them. */
  deleteRuns(ids: string[]): Promise<void>;
  deleteUnits(units: GcUnit[]): Promise<void>;
  /** Drops the step cache entries of runs that are `gone` (all of them with `dryRun`: counts only); returns how many. */
  pruneCacheEntries(gone: (run: string) => boolean, dryRun: boolean): Promise<number>;
}

/** A store `flow gc` can collect: every implementation is one of these. */
export type GcStore = Collectable | TwoPassCollectable;

/** Whether gc can collect a store in one pass on this machine (as the store declares). */
export function isCollectable(store: Store): store is Collectable {
  return store.collection === 'one-pass';
}

/**
 * A store that is a directory on this machine's file system. What needs it needs files, not
 * records: task workers and `flow ui` open the same store by `root` in other processes, live logs
 * are appended to and tailed as files, a push streams object files, a pull stages into `tmp/`
 * and renames into `objects/`. Only the code that opens a store (src/store/open.ts) names the
 * class behind it.
 */
export interface DiskStore extends Collectable {
  /** The store's directory. */
  readonly root: string;
  /** The file of an object (which may not exist). */
  objectPath(hash: string): string;
  /** Stores a file's content as an object without holding it in memory. */
  putObjectFromFile(file: string): Promise<string>;
  /** A file-system error of a store write as a coded StoreError (disk full, permissions, ...). */
  ioFailure(e: unknown, path: string): Error;
}

/** Whether a store lives in a directory of this machine (duck-typed: no implementation is imported). */
export function isDiskStore(store: Store): store is DiskStore {
  return typeof (store as Partial<DiskStore>).root === 'string' && typeof (store as Partial<DiskStore>).objectPath === 'function';
}

/**
 * Where a record is, for messages: its file in a disk store (as path.join writes it), else the
 * store's location and the record path.
 */
export function recordLocation(store: Store, path: string): string {
  return isDiskStore(store) ? join(store.root, path) : `${store.location}/${path}`;
}

export { SHA256_HEX } from '../util/hash.js';

/**
 * Object ids named anywhere in a text (a record, an artifact document). Generic on purpose: any
 * field that references an object (artifacts, logs, code package, patch, environment locks,
 * included files, binary parts of artifacts, and whatever is added later) is found without the
 * caller knowing the field; callers keep only ids that are objects in the store.
 */
export function objectIdsIn(text: string): string[] {
  return text.match(/[0-9a-f]{64}/g) ?? [];
}

/** objectIdsIn over bytes of any size, scanned in windows (a string cannot exceed ~512 MiB). */
export function objectIdsInBytes(bytes: Uint8Array): string[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const WINDOW = 32 << 20;
  const ids = new Set<string>();
  // Windows overlap by 63 bytes so an id across a boundary is still seen whole.
  for (let start = 0; start < buf.byteLength; start += WINDOW) {
    for (const id of objectIdsIn(buf.toString('latin1', start, Math.min(buf.byteLength, start + WINDOW + 63)))) ids.add(id);
  }
  return [...ids];
}
