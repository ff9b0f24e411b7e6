import { accessSync, constants, createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gunzipSync, gzipSync } from 'node:zlib';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join, sep } from 'node:path';
import { isFlowError, StoreError } from '../errors/index.js';
import { sha256 } from '../util/hash.js';
import { createAtomicSync, writeAtomicSync } from '../util/atomic-write.js';
import { BufferFrom, StringPrototypeSlice, TypedArrayPrototypeGetBuffer, TypedArrayPrototypeGetByteLength, TypedArrayPrototypeGetByteOffset } from '../util/primordials.js';
import { assertObjectId, checkedRecordPath, hashMismatchError, missingObjectError } from './checks.js';
import { deleteLocalRun, deleteLocalUnit, localGcUnits } from './local-gc.js';
import { type GcUnit, SHA256_HEX, type DiskStore } from './types.js';

/** Object files start with 'FO', a format version and a codec byte; the hash covers the decoded bytes. */
const MAGIC_0 = 0x46; // F
const MAGIC_1 = 0x4f; // O
const OBJECT_VERSION = 1;
// biome-ignore lint/suspicious/noConstEnum: file-local, so tsc and esbuild both inline it; nothing imports it across modules.
const enum Codec {
  Raw = 0,
  Gzip = 1,
}

/** A dedup hit re-reads and verifies objects up to this size (a few µs) and repairs a damaged one. */
export const VERIFY_ON_DEDUP_MAX = 64 << 10;

/** Compression only pays for itself on compressible data above this size (BENCHMARKS.md). */
const COMPRESS_MIN_BYTES = 1024;

export const STORE_FORMAT = { format: 'flowrun-store', version: 1 } as const;

/**
 * The store on local disk. Layout:
 *   FORMAT                      {"format":"flowrun-store","version":1}
 *   objects/ab/abcdef…          content-addressed objects (sha256), read-only once written
 *   runs/run-N/…                JSON records
 * Every write goes to a temp file in the target directory and is renamed into place, so a
 * crash (even SIGKILL) never leaves a partial file under a final name.
 */
export class LocalStore implements DiskStore {
  readonly location: string;
  readonly collection = 'one-pass';

  constructor(readonly root: string) {
    this.location = root;
  }

  /** Opens (creating on first use) a store directory, refusing a newer format. */
  static open(root: string): LocalStore {
    const store = new LocalStore(root);
    let format: { format?: string; version?: number } | undefined;
    try {
      format = JSON.parse(readFileSync(join(root, 'FORMAT'), 'utf8')) as typeof format;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') throw new StoreError('STORE_PERMISSION', `The store path ${root} is a file, not a directory.`, { file: root, fix: 'Point "store" in .flowrc (or FLOW_STORE) at a directory, or remove that file.' });
      if (code === 'EACCES' || code === 'EPERM') throw new StoreError('STORE_PERMISSION', `The store ${root} cannot be read (${code}).`, { file: root, fix: 'Fix the permissions of the store directory, or point "store" in .flowrc (or FLOW_STORE) elsewhere.' });
      if (code !== 'ENOENT') throw new StoreError('STORE_CORRUPT_RECORD', `The store marker ${join(root, 'FORMAT')} is unreadable.`, { file: join(root, 'FORMAT'), fix: 'Restore it: {"format":"flowrun-store","version":1}.' });
    }
    if (!format) {
      store.writeFileAtomic(join(root, 'FORMAT'), Buffer.from(JSON.stringify(STORE_FORMAT)), true);
    } else if (format.format !== STORE_FORMAT.format || typeof format.version !== 'number') {
      throw new StoreError('STORE_CORRUPT_RECORD', `${root} is not a flowrun store (bad FORMAT file).`, { file: join(root, 'FORMAT') });
    } else if (format.version > STORE_FORMAT.version) {
      throw new StoreError('STORE_VERSION_UNSUPPORTED', `The store at ${root} was written by a newer flowrun (store format ${format.version}; this flowrun reads up to ${STORE_FORMAT.version}).`, {
        file: join(root, 'FORMAT'),
        fix: 'Upgrade flowrun (npm install flowrun@latest).',
      });
    }
    return store;
  }

  objectPath(hash: string): string {
    return join(this.root, 'objects', hash.slice(0, 2), hash);
  }

  async putObject(data: Uint8Array, options: { compress?: boolean } = {}): Promise<string> {
    return this.putObjectSync(data, options);
  }

  putObjectSync(data: Uint8Array, options: { compress?: boolean } = {}): string {
    const hash = sha256(data);
    const path = this.objectPath(hash);
    if (this.exists(path) && (data.byteLength > VERIFY_ON_DEDUP_MAX || this.intact(path, hash))) {
      // A dedup hit counts as a fresh write, so `flow gc`'s grace period protects it too.
      touch(path);
      return hash;
    }
    // Absent, or a small object whose stored copy is damaged: (re)write it, so storing the
    // same bytes again repairs the store instead of keeping a corrupt copy forever.
    this.writeFileAtomic(path, encodeObjectFile(data, options.compress), false, 0o444);
    return hash;
  }

  /**
   * Stores a file's content as an object without holding it in memory: one pass hashes it,
   * a second streams it (gzip-compressed when that saves at least 10 %) into a temp file that
   * is renamed into place. Small files take the in-memory path, so both give the same object.
   */
  async putObjectFromFile(file: string): Promise<string> {
    let size: number;
    try {
      size = statSync(file).size;
    } catch (e) {
      throw this.ioFailure(e, file);
    }
    if (size <= STREAM_MIN_BYTES) return this.putObjectSync(readFileSync(file));
    const hash = await hashFile(file);
    const path = this.objectPath(hash);
    if (this.exists(path)) {
      touch(path);
      return hash;
    }
    const made = this.makeDirs(dirname(path));
    const tmp = join(dirname(path), `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      const compressed = await writeStreamed(tmp, file, true);
      if (compressed >= size * 0.9) {
        rmSync(tmp, { force: true });
        await writeStreamed(tmp, file, false);
      }
      renameSync(tmp, path);
    } catch (e) {
      rmSync(tmp, { force: true });
      unmakeDirs(made, dirname(path));
      throw this.ioFailure(e, path);
    }
    return hash;
  }

  async getObject(hash: string): Promise<Buffer> {
    return this.getObjectSync(hash);
  }

  getObjectSync(hash: string): Buffer {
    assertObjectId(hash);
    // Not path.join: this runs inside steps (artifacts load lazily), and join uses Array.prototype.push.
    const path = `${this.root}${sep}objects${sep}${StringPrototypeSlice(hash, 0, 2)}${sep}${hash}`;
    let file: Buffer;
    try {
      file = readFileSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw missingObjectError(hash, this.root, path);
      throw new StoreError(code === 'EACCES' ? 'STORE_PERMISSION' : 'STORE_CORRUPT_OBJECT', `Object ${hash} cannot be read: ${(e as Error).message}.`, { file: path, fix: 'Check the file permissions of the store, then run flow fsck.' });
    }
    const data = decodeObjectFile(file, hash, path);
    if (sha256(data) !== hash) throw hashMismatchError(hash, path);
    return data;
  }

  async hasObject(hash: string): Promise<boolean> {
    return SHA256_HEX.test(hash) && this.exists(this.objectPath(hash));
  }

  hasObjectSync(hash: string): boolean {
    return SHA256_HEX.test(hash) && this.exists(this.objectPath(hash));
  }

  async *listObjects(): AsyncIterable<string> {
    const dir = join(this.root, 'objects');
    for (const shard of safeReaddir(dir).sort()) {
      for (const name of safeReaddir(join(dir, shard)).sort()) if (!name.startsWith('.')) yield name;
    }
  }

  async writeRecord(path: string, value: unknown): Promise<void> {
    this.writeRecordSync(path, value);
  }

  writeRecordSync(path: string, value: unknown, durable = false): void {
    this.writeFileAtomic(this.recordFile(path), Buffer.from(JSON.stringify(value)), durable);
  }

  async readRecord<T>(path: string): Promise<T | undefined> {
    return this.readRecordSync<T>(path);
  }

  readRecordSync<T>(path: string): T | undefined {
    const full = this.recordFile(path);
    let text: string;
    try {
      text = readFileSync(full, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw new StoreError('STORE_PERMISSION', `Record ${full} cannot be read: ${(e as Error).message}.`, { file: full, fix: "Check the store's file permissions." });
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new StoreError('STORE_CORRUPT_RECORD', `Record ${full} is corrupt (not valid JSON).`, { file: full, fix: 'Run flow fsck; a run with a corrupt record can be rerun with flow resume.' });
    }
  }

  async listRecords(dir: string): Promise<string[]> {
    return this.listRecordsSync(dir);
  }

  /** Names under a record directory; [] when it does not exist, an error when it cannot be read. */
  listRecordsSync(dir: string): string[] {
    const full = this.recordFile(dir);
    let names: string[];
    try {
      // Most directories asked for do not exist (a run's tag log, listed for every run by `flow
      // runs`): a stat that reports absence costs a fraction of the ENOENT readdir throws.
      if (!statSync(full, { throwIfNoEntry: false })) return [];
      names = readdirSync(full);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw new StoreError('STORE_PERMISSION', `The record directory ${full} cannot be read (${code}).`, { file: full, fix: 'Fix the permissions of the store directory.' });
    }
    return names.filter((n) => !n.startsWith('.')).sort();
  }

  async createRecord(path: string, value: unknown): Promise<boolean> {
    return this.createRecordSync(path, value);
  }

  /** Atomic create: write a temp file, then link(2) it to the final name (fails if it exists). */
  createRecordSync(path: string, value: unknown): boolean {
    const full = this.recordFile(path);
    const made = this.makeDirs(dirname(full));
    try {
      return createAtomicSync(full, JSON.stringify(value));
    } catch (e) {
      unmakeDirs(made, dirname(full));
      throw isFlowError(e) ? e : this.ioFailure(e, full);
    }
  }

  deleteRecordSync(path: string): void {
    const full = this.recordFile(path);
    try {
      rmSync(full, { force: true });
    } catch (e) {
      throw this.ioFailure(e, full); // a directory of records is not a record
    }
    // rmdir fails on a directory that still holds records: it stays.
    try {
      rmdirSync(dirname(full));
    } catch {
      /* not empty */
    }
  }

  gcUnits(skipped: string[]): Iterable<GcUnit> {
    return localGcUnits(this.root, skipped);
  }

  deleteRun(id: string): void {
    deleteLocalRun(this.root, id);
  }

  deleteUnit(unit: GcUnit): void {
    deleteLocalUnit(unit);
  }

  /** mkdir -p, returning the first directory it created (to undo it if the write then fails). */
  private makeDirs(dir: string): string | undefined {
    try {
      return mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw this.ioFailure(mkdirFailure(e, dir), dir);
    }
  }

  /** The file of a record path (refusing one that would leave the store: see checkedRecordPath). */
  private recordFile(path: string): string {
    return join(this.root, checkedRecordPath(path, this.root));
  }

  /** Whether an object file decodes to bytes with its hash. */
  private intact(path: string, hash: string): boolean {
    try {
      return sha256(decodeObjectFile(readFileSync(path), hash, path)) === hash;
    } catch {
      return false;
    }
  }

  private exists(path: string): boolean {
    try {
      return statSync(path).isFile();
    } catch {
      return false;
    }
  }

  private writeFileAtomic(path: string, data: Buffer | Uint8Array[], durable: boolean, mode = 0o644): void {
    const made = this.makeDirs(dirname(path));
    try {
      writeAtomicSync(path, data, { mode, durability: durable ? 'full' : 'none' });
    } catch (e) {
      // A write that failed (a full disk) leaves no empty run, step or shard directory behind.
      unmakeDirs(made, dirname(path));
      throw isFlowError(e) ? e : this.ioFailure(e, path);
    }
  }

  /** A file-system error of a store write as a coded error (disk full, permissions, ...). */
  ioFailure(e: unknown, path: string): Error {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return new StoreError('STORE_DISK_FULL', `The disk holding the store is full (writing ${path}); nothing partial was left behind.`, { file: path, fix: 'Free space on that disk, then try again.' });
    if (code === 'EROFS') return new StoreError('STORE_PERMISSION', `The store is on a read-only file system: ${path} cannot be written (EROFS).`, { file: path, fix: 'Remount it read-write, or set "store" in .flowrc (or FLOW_STORE) to a writable path. Reading commands (flow runs, inspect, get) still work on it.' });
    if (code === 'EACCES' || code === 'EPERM') return new StoreError('STORE_PERMISSION', `The store is not writable: ${path} (${code}).`, { file: path, fix: 'Fix the directory permissions, or set "store" in .flowrc (or FLOW_STORE) to a writable path.' });
    if (code === 'EISDIR' && path.startsWith(join(this.root, 'objects'))) return new StoreError('STORE_CORRUPT_OBJECT', `A directory sits where the object file ${path} belongs.`, { file: path, fix: 'Remove that directory (it is not a flowrun object), then run flow fsck.' });
    if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR') return new StoreError('STORE_PERMISSION', `The store path is not a directory where one is needed: ${path} (${code}).`, { file: path, fix: `Point "store" in .flowrc (or FLOW_STORE) at a directory; ${this.root} must be one.` });
    if (code) return new StoreError('STORE_IO', `Writing the store failed: ${path}: ${(e as Error).message}.`, { file: path, fix: 'Check the disk and the store directory, then run flow fsck.' });
    return e as Error;
  }
}

/**
 * The real reason a recursive mkdir failed. Node reports ENOENT for `mkdir -p` under a read-only
 * file system or an unwritable parent (it retries the missing parent, which cannot be made
 * either); asking the nearest existing ancestor gives EROFS or EACCES, which say what to fix.
 */
function mkdirFailure(e: unknown, dir: string): unknown {
  if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return e;
  for (let d = dirname(dir); ; d = dirname(d)) {
    if (existsSync(d)) {
      try {
        accessSync(d, constants.W_OK);
      } catch (access) {
        return access;
      }
      return e;
    }
    if (dirname(d) === d) return e;
  }
}

/** Removes `dir` and its parents up to `first` (the first one a makeDirs created), while they are empty. */
function unmakeDirs(first: string | undefined, dir: string): void {
  if (!first) return;
  for (let d = dir; d.startsWith(first); d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return;
    }
    if (d === first) return;
  }
}

/** Files up to this size are stored from memory (one read); larger ones are streamed. */
const STREAM_MIN_BYTES = 4 << 20;
const STREAM_CHUNK = 256 << 10;

/** sha256 of a file's content, read through one reused buffer. */
async function hashFile(file: string): Promise<string> {
  const hasher = createHash('sha256');
  const buf = Buffer.allocUnsafe(STREAM_CHUNK);
  const fh = await open(file, 'r');
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.byteLength, null);
      if (bytesRead === 0) break;
      hasher.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return hasher.digest('hex');
}

/** Writes an object file (header, then the payload from `source`) to `tmp`; returns the payload's size. */
async function writeStreamed(tmp: string, source: string, gzip: boolean): Promise<number> {
  let payload = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      payload += chunk.byteLength;
      done(null, chunk);
    },
  });
  const out = createWriteStream(tmp, { mode: 0o444 });
  out.write(Buffer.from([MAGIC_0, MAGIC_1, OBJECT_VERSION, gzip ? Codec.Gzip : Codec.Raw]));
  const input = createReadStream(source, { highWaterMark: STREAM_CHUNK });
  if (gzip) await pipeline(input, createGzip({ level: 1 }), count, out);
  else await pipeline(input, count, out);
  return payload;
}

function touch(path: string): void {
  const now = new Date();
  try {
    utimesSync(path, now, now);
  } catch {
    /* read-only store: nothing to protect */
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The bytes of an object file: a 4-byte header ('FO', format version, codec) and the payload,
 * gzip-compressed when that saves at least 10 %. Shared by every store medium.
 */
export function encodeObjectFile(data: Uint8Array, compress?: boolean): Uint8Array[] {
  let codec = Codec.Raw;
  let payload: Uint8Array = data;
  if (compress !== false && data.byteLength >= COMPRESS_MIN_BYTES) {
    const z = gzipSync(data, { level: 1 });
    if (z.byteLength < data.byteLength * 0.9) {
      codec = Codec.Gzip;
      payload = z;
    }
  }
  return [Buffer.from([MAGIC_0, MAGIC_1, OBJECT_VERSION, codec]), payload];
}

/** Strips and checks the object header; returns the logical bytes (more than `maxBytes` is corrupt). */
export function decodeObjectFile(file: Buffer, hash: string, path: string, maxBytes?: number): Buffer {
  // Captured accessors: this runs inside steps too (artifacts load lazily), whatever they patched.
  const size = TypedArrayPrototypeGetByteLength(file);
  if (size < 4 || file[0] !== MAGIC_0 || file[1] !== MAGIC_1) {
    throw new StoreError('STORE_CORRUPT_OBJECT', `Object ${hash} is corrupt: ${size < 4 ? 'truncated' : 'bad header'}.`, { file: path, fix: 'Run flow fsck; flow pull (from a mirror) or a copy of the store can restore it.' });
  }
  if (file[2]! > OBJECT_VERSION) {
    throw new StoreError('STORE_VERSION_UNSUPPORTED', `Object ${hash} was written by a newer flowrun (object format ${file[2]}).`, { file: path, fix: 'Upgrade flowrun.' });
  }
  const payload = BufferFrom(TypedArrayPrototypeGetBuffer(file) as ArrayBuffer, TypedArrayPrototypeGetByteOffset(file) + 4, size - 4);
  if (file[3] === Codec.Raw) return payload;
  if (file[3] === Codec.Gzip) {
    try {
      return gunzipSync(payload, maxBytes === undefined ? {} : { maxOutputLength: maxBytes });
    } catch (e) {
      const tooLarge = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      throw new StoreError('STORE_CORRUPT_OBJECT', `Object ${hash} is corrupt: its compressed data ${tooLarge ? `inflates past ${maxBytes} bytes` : 'does not decode'}.`, { file: path, fix: 'Run flow fsck; flow pull (from a mirror) or a copy of the store can restore it.' });
    }
  }
  throw new StoreError('STORE_CORRUPT_OBJECT', `Object ${hash} has an unknown codec ${file[3]}.`, { file: path, fix: 'Run flow fsck.' });
}
