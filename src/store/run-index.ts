import { readFileSync, statSync, type Stats } from 'node:fs';
import { join, sep } from 'node:path';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { runRecordPath, type RunRecord } from '../metadata/records.js';
import { type DiskStore, isDiskStore, recordLocation, type Store, type SyncStore } from './types.js';
import { checkRunRecord } from '../metadata/record-check.js';

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
 */
export const RUN_INDEX_PATH = 'index/runs.json';

const NON_ASCII = /[^\x00-\x7f]/;
const NON_ASCII_ALL = /[^\x00-\x7f]/g;

/** A record changed less than this before the index was written may change again unseen within one timestamp tick. */
const RACY_MS = 2000;

interface IndexFile {
  schema: 'flowrun.run-index/2';
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
    let record = status && entry && trusted(entry, status, old!.writtenMs) ? usable(entry.record, path) : undefined;
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
  if (old === undefined || read > 0 || removed) writeIndex(store, { schema: 'flowrun.run-index/2', runs: Object.fromEntries(runs) });
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
  const old = readIndex(store);
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

function readIndex(store: DiskStore): { file: IndexFile; writtenMs: number } | undefined {
  const path = join(store.root, RUN_INDEX_PATH);
  const status = statSafe(path);
  if (!status) return undefined;
  let file: unknown;
  try {
    // Written as ASCII (writeIndex), read as Latin-1: the same text, decoded at half the cost of
    // UTF-8. Anything else in it was not written by writeIndex: rebuilt.
    const text = readFileSync(path, 'latin1');
    if (NON_ASCII.test(text)) return undefined;
    file = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isIndexFile(file)) return undefined;
  // The index's own ctime, on the file system's clock: the time every entry was read before.
  return { file, writtenMs: status.ctimeMs };
}

function writeIndex(store: DiskStore, file: IndexFile): void {
  try {
    writeFileAtomic(
      join(store.root, RUN_INDEX_PATH),
      JSON.stringify(file).replace(NON_ASCII_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    );
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

/** An index entry's record, if it still has the shape of a run record (the index file may be damaged). */
function usable(record: unknown, path: string): RunRecord | undefined {
  try {
    return checkRunRecord(record, path);
  } catch {
    return undefined;
  }
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
  if (f.schema !== 'flowrun.run-index/2' || typeof f.runs !== 'object' || f.runs === null || Array.isArray(f.runs)) return false;
  return Object.values(f.runs).every((e: Partial<IndexEntry> | null) => typeof e === 'object' && e !== null && Array.isArray(e.stat) && e.stat.length === 4 && e.stat.every((x) => typeof x === 'number'));
}
