import { readFileSync, statSync, type Stats } from 'node:fs';
import { join, sep } from 'node:path';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { runRecordPath, type RunRecord } from '../metadata/records.js';
import { type DiskStore, isDiskStore, recordLocation, type Store, type SyncStore } from './types.js';
import { checkRunRecord } from '../metadata/record-check.js';
import { sha256 } from '../util/hash.js';

/**
 * The run index of a local store: every run record with the file status (inode, size, mtime,
 * ctime) it was read at, in one file, so listing 1,000 runs is one read and 1,000 stat calls
 * instead of 1,000 reads and parses (issue #18).
 *
 * It is a derived cache, never a source of truth: an entry is used only while its record file
 * still has the status it was read at, and not when that status is too close to the index's own
 * write time to tell a later change apart (git's "racy" rule, on the file system's own clock);
 * anything else is read from the record. A missing, corrupt or stale index is rebuilt by the next
 * reader, who writes it back (atomically; a store that cannot be written is read without it).
 * Writers of run records need not know it exists. `flow fsck` checks that no entry it would
 * serve disagrees with its record (runIndexProblems).
 *
 * Every record enters the index checked (checkRunRecord), and the index carries the SHA-256 of its
 * entries' text: an index whose digest matches is the one writeIndex wrote, so its records are
 * served without checking them again (the checks were most of a 1,000-run listing's own time).
 * An index whose digest does not match (edited, damaged) is rebuilt. Whatever changes what
 * checkRunRecord accepts must bump INDEX_SCHEMA, so that no index holds records checked by older rules.
 */
export const RUN_INDEX_PATH = 'index/runs.json';

const INDEX_SCHEMA = 'flowrun.run-index/3';
/** The index file's text up to its digest; writeIndex lays it out so, and readIndex relies on it. */
const DIGEST_PREFIX = `{"schema":"${INDEX_SCHEMA}","sha256":"`;
const RUNS_PREFIX = '","runs":';

const NON_ASCII = /[^\x00-\x7f]/;
const NON_ASCII_ALL = /[^\x00-\x7f]/g;

/** A record changed less than this before the index was written may change again unseen within one timestamp tick. */
const RACY_MS = 2000;

interface IndexFile {
  schema: typeof INDEX_SCHEMA;
  /** SHA-256 of the text of `runs` as written. */
  sha256: string;
  /** Run directory name → the status of its run.json when read, and the record read. */
  runs: Record<string, IndexEntry>;
}

interface IndexEntry {
  /** ino, size, mtimeMs, ctimeMs of run.json, as Node reports them (JSON keeps a number exactly). */
  stat: [number, number, number, number];
  record: RunRecord;
}

export interface IndexedRuns {
  /** Every readable run record, by run directory name, in directory-name order. */
  records: Map<string, RunRecord>;
  /** Records read from their files this time (the rest came from the index). */
  read: number;
}

/**
 * Every run record of the store, through the index: entries whose record file is unchanged are
 * taken from it, the others read (and checked) from their files; the index is written back when
 * that changed anything. A corrupt run record throws, as reading it directly does.
 */
export function indexedRunRecords(store: SyncStore): IndexedRuns {
  // The index caches what files said at a file status; a store without files has nothing to cache.
  if (!isDiskStore(store)) return unindexedRunRecords(store);
  const old = readIndex(store);
  // A Map, not an object: a directory may be named __proto__.
  const runs = new Map<string, IndexEntry>();
  const records = new Map<string, RunRecord>();
  let read = 0;
  // runRecordPath's layout, joined by hand: path.join's normalising is a visible part of 1,000 stats.
  const runsDir = join(store.root, 'runs');
  for (const name of store.listRecordsSync('runs')) {
    const path = `${runsDir}${sep}${name}${sep}run.json`;
    const status = statusOf(path);
    const entry = old && Object.hasOwn(old.file.runs, name) ? old.file.runs[name] : undefined;
    // An entry of an index whose digest matched holds a record checked when it was written.
    let record = status && entry && trusted(entry, status, old!.writtenMs) ? entry.record : undefined;
    if (!record) {
      // The status is taken before the content, so a change between the two is seen next time.
      // Absent (a run id claimed by a run that has not written its record yet): not listed.
      const value = store.readRecordSync<unknown>(runRecordPath(name));
      if (value === undefined) continue;
      record = checkRunRecord(value, path);
      read++;
    }
    if (status) runs.set(name, { stat: status, record });
    records.set(name, record);
  }
  const removed = old !== undefined && Object.keys(old.file.runs).some((name) => !runs.has(name));
  if (old === undefined || read > 0 || removed) writeIndex(store, Object.fromEntries(runs));
  return { records, read };
}

/** Every run record read and checked from its record, in directory-name order. */
function unindexedRunRecords(store: SyncStore): IndexedRuns {
  const records = new Map<string, RunRecord>();
  for (const name of store.listRecordsSync('runs')) {
    const value = store.readRecordSync<unknown>(runRecordPath(name));
    if (value !== undefined) records.set(name, checkRunRecord(value, recordLocation(store, runRecordPath(name))));
  }
  return { records, read: records.size };
}

/**
 * What `flow fsck` reports about the index: entries the index would serve (their record file is
 * unchanged) that disagree with the record. A missing or unreadable index is no problem: it is
 * rebuilt.
 */
export function runIndexProblems(store: Store): Array<{ run: string; message: string }> {
  if (!isDiskStore(store)) return [];
  // Also an index whose digest does not match: a listing would rebuild it, but fsck says what it held.
  const old = readIndex(store, { verified: false });
  if (!old) return [];
  const problems: Array<{ run: string; message: string }> = [];
  for (const [name, entry] of Object.entries(old.file.runs)) {
    const path = join(store.root, runRecordPath(name));
    const status = statusOf(path);
    if (!status || !trusted(entry, status, old.writtenMs)) continue;
    let actual: unknown;
    try {
      actual = store.readRecordSync<unknown>(runRecordPath(name));
    } catch {
      continue;
    }
    if (JSON.stringify(actual) !== JSON.stringify(entry.record)) problems.push({ run: name, message: `The run index ${join(store.root, RUN_INDEX_PATH)} holds a record of ${name} that differs from ${path}, whose file it claims is unchanged.` });
  }
  return problems;
}

/** The index, if it was written by writeIndex (its digest matches; unless `verified` is false) and has the index's shape. */
function readIndex(store: DiskStore, { verified = true } = {}): { file: IndexFile; writtenMs: number } | undefined {
  const path = join(store.root, RUN_INDEX_PATH);
  const status = statSafe(path);
  if (!status) return undefined;
  let file: unknown;
  try {
    // Written as ASCII (writeIndex), read as Latin-1: the same text, decoded at half the cost of
    // UTF-8. Anything else in it was not written by writeIndex: rebuilt.
    const text = readFileSync(path, 'latin1');
    if (NON_ASCII.test(text)) return undefined;
    if (verified && !digestMatches(text)) return undefined;
    file = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isIndexFile(file)) return undefined;
  // The index's own ctime, on the file system's clock: the time every entry was read before.
  return { file, writtenMs: status.ctimeMs };
}

/** Whether the digest at the head of an index file's text is that of its entries' text. */
function digestMatches(text: string): boolean {
  const runsAt = DIGEST_PREFIX.length + 64 + RUNS_PREFIX.length;
  if (!text.startsWith(DIGEST_PREFIX) || !text.startsWith(RUNS_PREFIX, runsAt - RUNS_PREFIX.length) || !text.endsWith('}')) return false;
  // ASCII text (checked by the caller): its UTF-8 encoding, which is hashed, is the bytes written.
  return sha256(text.slice(runsAt, -1)) === text.slice(DIGEST_PREFIX.length, DIGEST_PREFIX.length + 64);
}

function writeIndex(store: DiskStore, runs: IndexFile['runs']): void {
  const runsText = JSON.stringify(runs).replace(NON_ASCII_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  try {
    writeFileAtomic(join(store.root, RUN_INDEX_PATH), `${DIGEST_PREFIX}${sha256(runsText)}${RUNS_PREFIX}${runsText}}`);
  } catch {
    // A read-only store (or a full disk) is listed without an index; nothing depends on it.
  }
}

function trusted(entry: IndexEntry, status: IndexEntry['stat'], writtenMs: number): boolean {
  return sameStatus(entry.stat, status) && status[3] + RACY_MS < writtenMs && status[2] + RACY_MS < writtenMs;
}

function sameStatus(a: IndexEntry['stat'], b: IndexEntry['stat']): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

function statusOf(path: string): IndexEntry['stat'] | undefined {
  const s = statSafe(path);
  return s?.isFile() ? [s.ino, s.size, s.mtimeMs, s.ctimeMs] : undefined;
}

function statSafe(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR (a file where a run directory belongs), EACCES: read it the ordinary way
  }
}

function isIndexFile(v: unknown): v is IndexFile {
  if (typeof v !== 'object' || v === null) return false;
  const f = v as Partial<IndexFile>;
  if (f.schema !== INDEX_SCHEMA || typeof f.runs !== 'object' || f.runs === null || Array.isArray(f.runs)) return false;
  return Object.values(f.runs).every((e: Partial<IndexEntry> | null) => typeof e === 'object' && e !== null && Array.isArray(e.stat) && e.stat.length === 4 && e.stat.every((x) => typeof x === 'number'));
}
