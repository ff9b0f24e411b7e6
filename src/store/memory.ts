import { StoreError } from '../errors/index.js';
import { sha256 } from '../util/hash.js';
import { assertObjectId, checkedRecordPath, hashMismatchError, missingObjectError } from './checks.js';
import { STORE_FORMAT, VERIFY_ON_DEDUP_MAX } from './local.js';
import { runRecordPath } from '../metadata/records.js';
import { type Collectable, type GcUnit, SHA256_HEX } from './types.js';

/**
 * A store held in Maps, for fast unit tests of the code above the store (scheduler, gc, fsck,
 * client). It passes the same conformance suite as the local and S3 stores and is meant to be
 * at least as strict as they are, so a test green here is not green by leniency:
 * - every read of an object re-hashes it (`corruptObjectForTest` damages one to prove it);
 * - ids, record paths and missing objects fail with the very StoreErrors of the local store;
 * - what goes in and what comes out are copies (a caller mutating a Buffer or a record changes
 *   nothing stored), and a record is kept as its JSON text, so a value JSON cannot hold (undefined,
 *   a Date, NaN, a Map) reads back as it would from disk;
 * - records and "directories" exclude each other as files and directories do on disk: a record
 *   cannot be written under another record nor over a directory of records.
 * `compress` is accepted and has no effect: it only changes how the disk stores the bytes, never
 * their hash nor what a read returns. The `objects/` area is not part of the record namespace here
 * (on disk it is a directory beside the records).
 *
 * @example
 * const store = new MemoryStore();
 * const hash = await store.putObject(Buffer.from('x'));
 * store.corruptObjectForTest(hash); // getObject(hash) now rejects with STORE_CORRUPT_OBJECT
 */
export class MemoryStore implements Collectable {
  readonly location: string;
  readonly collection = 'one-pass';
  /** Object bytes by hash (the logical bytes; a test hook may damage them). */
  private readonly objects = new Map<string, Buffer>();
  /** When each object was last stored (a dedup hit counts, as on disk, where it refreshes the file's time). */
  private readonly written = new Map<string, Date>();
  /** Record JSON text by record path. */
  private readonly records = new Map<string, string>();
  /** Names directly under each record directory ('' is the root), as readdir would see them. */
  private readonly dirs = new Map<string, Set<string>>();

  constructor(name = 'test') {
    this.location = `memory:${name}`;
    // As LocalStore.open and S3Store.open do, so code reading the marker sees one.
    this.place('FORMAT', JSON.stringify(STORE_FORMAT), true);
  }

  async putObject(data: Uint8Array, options: { compress?: boolean } = {}): Promise<string> {
    return this.putObjectSync(data, options);
  }

  putObjectSync(data: Uint8Array, _options: { compress?: boolean } = {}): string {
    const hash = sha256(data);
    const stored = this.objects.get(hash);
    // As on disk: a dedup hit on a small object whose stored copy is damaged repairs it.
    this.written.set(hash, new Date());
    if (stored && (data.byteLength > VERIFY_ON_DEDUP_MAX || sha256(stored) === hash)) return hash;
    this.objects.set(hash, Buffer.from(data));
    return hash;
  }

  async getObject(hash: string): Promise<Buffer> {
    return this.getObjectSync(hash);
  }

  getObjectSync(hash: string): Buffer {
    assertObjectId(hash);
    const stored = this.objects.get(hash);
    if (!stored) throw missingObjectError(hash, this.location);
    if (sha256(stored) !== hash) throw hashMismatchError(hash, `${this.location}/objects/${hash}`);
    return Buffer.from(stored);
  }

  async hasObject(hash: string): Promise<boolean> {
    return this.hasObjectSync(hash);
  }

  hasObjectSync(hash: string): boolean {
    return typeof hash === 'string' && SHA256_HEX.test(hash) && this.objects.has(hash);
  }

  async *listObjects(): AsyncIterable<string> {
    // Sorted, as the local store lists them; a snapshot, so puts during the walk are not missed mid-way.
    for (const hash of [...this.objects.keys()].sort()) yield hash;
  }

  async writeRecord(path: string, value: unknown): Promise<void> {
    this.writeRecordSync(path, value);
  }

  /** `durable` has no meaning in memory (nothing survives the process anyway). */
  writeRecordSync(path: string, value: unknown, _durable = false): void {
    this.place(checkedRecordPath(path, this.location), jsonText(value, path), true);
  }

  async readRecord<T>(path: string): Promise<T | undefined> {
    return this.readRecordSync<T>(path);
  }

  readRecordSync<T>(path: string): T | undefined {
    const key = checkedRecordPath(path, this.location);
    const text = this.records.get(key);
    if (text !== undefined) return JSON.parse(text) as T;
    // On disk reading a directory is EISDIR, which the local store reports as unreadable.
    if (this.dirs.has(key)) throw new StoreError('STORE_PERMISSION', `Record ${this.location}/${key} cannot be read: it is a directory of records.`, { file: `${this.location}/${key}`, fix: "Check the store's file permissions." });
    return undefined;
  }

  async listRecords(dir: string): Promise<string[]> {
    return this.listRecordsSync(dir);
  }

  listRecordsSync(dir: string): string[] {
    const names = this.dirs.get(checkedRecordPath(dir, this.location));
    // Dot names are hidden, as on disk (where they are the temp files of atomic writes).
    return names ? [...names].filter((n) => !n.startsWith('.')).sort() : [];
  }

  async createRecord(path: string, value: unknown): Promise<boolean> {
    return this.createRecordSync(path, value);
  }

  createRecordSync(path: string, value: unknown): boolean {
    return this.place(checkedRecordPath(path, this.location), jsonText(value, path), false);
  }

  deleteRecordSync(path: string): void {
    const key = checkedRecordPath(path, this.location);
    // As rm -f: a directory is not a record and stays; an absent record is no error.
    if (this.dirs.has(key)) throw new StoreError('STORE_IO', `Writing the store failed: ${this.location}/${key} is a directory of records, not a record.`, { file: `${this.location}/${key}`, fix: 'Delete the records under it one by one.' });
    if (!this.records.delete(key)) return;
    const cut = key.lastIndexOf('/');
    const parent = cut < 0 ? '' : key.slice(0, cut);
    const names = this.dirs.get(parent)!;
    names.delete(key.slice(cut + 1));
    // As rmdir of the parent: it goes when empty (the root never does), one level only.
    if (names.size === 0 && parent !== '') {
      this.dirs.delete(parent);
      const up = parent.lastIndexOf('/');
      this.dirs.get(up < 0 ? '' : parent.slice(0, up))!.delete(parent.slice(up + 1));
    }
  }

  /** Every object, with its size and the time it was last stored (nothing here is a symlink). */
  *gcUnits(_skipped: string[]): Iterable<GcUnit> {
    for (const hash of [...this.objects.keys()].sort()) {
      yield { id: hash, hashes: [hash], size: this.objects.get(hash)!.byteLength, modified: this.written.get(hash)! };
    }
  }

  deleteRun(id: string): void {
    const dir = checkedRecordPath(`runs/${id}`, this.location);
    this.deleteRecordSync(runRecordPath(id));
    for (const key of [...this.records.keys()]) if (key.startsWith(`${dir}/`)) this.records.delete(key);
    for (const key of [...this.dirs.keys()]) if (key === dir || key.startsWith(`${dir}/`)) this.dirs.delete(key);
    this.dirs.get('runs')?.delete(id);
  }

  deleteUnit(unit: GcUnit): void {
    this.objects.delete(unit.id);
    this.written.delete(unit.id);
  }

  /**
   * Test hook: damages a stored object in place (its first byte flipped, or an empty object given
   * one byte), as a bad disk or a bad copy would; reads then fail with STORE_CORRUPT_OBJECT.
   */
  corruptObjectForTest(hash: string): void {
    const stored = this.objects.get(hash);
    if (!stored) throw new Error(`corruptObjectForTest: ${hash} is not stored in ${this.location}`);
    const bad = stored.byteLength === 0 ? Buffer.from([0]) : Buffer.from(stored);
    if (stored.byteLength > 0) bad[0] = bad[0]! ^ 0xff;
    this.objects.set(hash, bad);
  }

  /** Test hook: removes an object, as a lost file would; reads then fail with STORE_MISSING_OBJECT. */
  deleteObjectForTest(hash: string): void {
    this.written.delete(hash);
    if (!this.objects.delete(hash)) throw new Error(`deleteObjectForTest: ${hash} is not stored in ${this.location}`);
  }

  /**
   * Puts a record's text at a checked path, creating its directories; false when `overwrite` is
   * off and something is already there. Errors where the disk would fail: a record under a record
   * (ENOTDIR), a record over a directory (EISDIR).
   */
  private place(key: string, text: string, overwrite: boolean): boolean {
    const segments = key.split('/');
    for (let i = 1; i < segments.length; i++) {
      const ancestor = segments.slice(0, i).join('/');
      if (this.records.has(ancestor)) throw this.notADirectory(key, `${ancestor} is a record`);
    }
    const exists = this.records.has(key) || this.dirs.has(key);
    if (exists && !overwrite) return false;
    if (this.dirs.has(key)) throw this.notADirectory(key, 'a directory of records is there');
    for (let i = 0; i < segments.length; i++) {
      const parent = segments.slice(0, i).join('/');
      let names = this.dirs.get(parent);
      if (!names) this.dirs.set(parent, (names = new Set()));
      names.add(segments[i]!);
    }
    this.records.set(key, text);
    return true;
  }

  /** The local store's error for the same clash (a file where a directory is needed, or the reverse). */
  private notADirectory(key: string, why: string): StoreError {
    const file = `${this.location}/${key}`;
    return new StoreError('STORE_PERMISSION', `The store path is not a directory where one is needed: ${file} (${why}).`, { file, fix: 'Remove what is in the way; record paths name either records or directories, never both.' });
  }
}

/** The JSON text of a record value; a value JSON cannot hold at all fails as it does on disk (TypeError). */
function jsonText(value: unknown, path: string): string {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw new TypeError(`The record ${path} cannot be stored: its value (${typeof value}) has no JSON form.`);
  return text;
}
