import { existsSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { runRecordPath, type RunRecord } from '../metadata/records.js';
import { type DiskStore, isDiskStore, recordLocation, type Store, type SyncStore } from './types.js';
import { checkRunRecord } from '../metadata/record-check.js';
import { type ListedRun, listedRunText, listedRunTextOf } from '../metadata/listed-run.js';
import { runView } from '../metadata/run-query.js';
import { tagLogDir } from '../metadata/tags.js';
import { asciiJson, byNewest, type FileStatus, type IndexContents, type IndexEntry, type IndexItem, readIndexFile, type RunSummary, type TextsFile, writeIndexFile } from './run-index-file.js';

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
 * Every record enters the index checked (checkRunRecord), and the index carries a SHA-256 of each
 * of its sections (run-index-file.ts): an index whose digests match is the one writeIndexFile
 * wrote, so its records are served without checking them again (the checks were most of a
 * 1,000-run listing's own time). An index whose digests do not match (edited, damaged) is rebuilt.
 * Beside each record it keeps the run's summary and its exact part of `flow runs --json`, both
 * derived from the record when it entered (indexedRunListing serves them: the listing is a join of
 * strings). Whatever changes what checkRunRecord accepts, or how a run is listed, must bump
 * INDEX_SCHEMA, so that no index holds records checked, or texts printed, by older rules.
 */
export const RUN_INDEX_PATH = 'index/runs.json';

/** A record changed less than this before the index was written may change again unseen within one timestamp tick. */
const RACY_MS = 2000;

export interface IndexedRuns {
  /** Every readable run record, by run directory name, in directory-name order. */
  records: Map<string, RunRecord>;
  /** Records read from their files this time (the rest came from the index). */
  read: number;
}

/** A run as `flow runs --json` lists it before its tag log and liveness: what filters see, and its text. */
export interface IndexedListing {
  /** The run's directory name. */
  name: string;
  summary: RunSummary;
  /** The run's part of the output, as listedRunText prints it (absent when `stored` says where it is). */
  text?: string;
  /**
   * Where the text is in the index's texts section (bytes, ASCII), each text followed by ",\n":
   * the texts of runs listed one after the other are one slice of it, written without being
   * decoded or joined.
   */
  stored?: StoredText;
  /** False when the run has no tag log (its directory is absent); undefined: not looked at. */
  tagLog?: boolean;
}

export interface StoredText {
  /** The index's texts section, left in the file (read when printed). */
  section: TextsFile;
  at: number;
  length: number;
}

/**
 * Every run record of the store, through the index: entries whose record file is unchanged are
 * taken from it, the others read (and checked) from their files; the index is written back when
 * that changed anything. A corrupt run record throws, as reading it directly does.
 */
export function indexedRunRecords(store: SyncStore): IndexedRuns {
  // The index caches what files said at a file status; a store without files has nothing to cache.
  if (!isDiskStore(store)) return unindexedRunRecords(store);
  const { records, read } = refreshedIndex(store);
  return { records, read };
}

/**
 * indexedRunRecords, and the index's items by run directory name: those written now carry
 * their text (those of an index left as it was do not; the texts section is not read).
 * `rewrite`: write the index even if no record changed.
 */
function refreshedIndex(store: DiskStore, { rewrite = false } = {}): IndexedRuns & { items: Map<string, IndexItem> } {
  const old = readIndexFile(indexPath(store), { texts: false, records: true });
  const byName = new Map(old?.entries.map((e, i) => [e.name, i]));
  const items = new Map<string, IndexItem>();
  const records = new Map<string, RunRecord>();
  let read = 0;
  let served = 0;
  for (const name of store.listRecordsSync('runs')) {
    const path = recordPathOf(store, name);
    const status = statusOf(path);
    const at = byName.get(name);
    // An entry of an index whose digests matched holds a record checked when it was written.
    if (status && old && at !== undefined && trusted(old.entries[at]!, status, old.writtenMs)) {
      const record = old.records![at] as RunRecord;
      items.set(name, { name, stat: status, summary: old.entries[at]!.summary, record });
      records.set(name, record);
      served++;
      continue;
    }
    // The status is taken before the content, so a change between the two is seen next time.
    // Absent (a run id claimed by a run that has not written its record yet): not listed.
    const value = store.readRecordSync<unknown>(runRecordPath(name));
    if (value === undefined) continue;
    const record = checkRunRecord(value, path);
    read++;
    if (status) items.set(name, { name, stat: status, summary: summarize(record), record });
    records.set(name, record);
  }
  // An entry not served (its run was removed, or read again) means the index changes. Its texts
  // are printed again from the records (a pure function of them) rather than read.
  if (rewrite || old === undefined || read > 0 || served !== old.entries.length) {
    writeIndex(
      store,
      [...items.values()].map((item) => {
        item.text ??= listedRunText(item.record);
        return { ...item, text: item.text };
      }),
    );
  }
  return { records, read, items };
}

/**
 * The runs of the store as `flow runs --json` lists them (before tag logs and liveness), newest
 * first: while every record file is unchanged, the index's summaries and texts alone (its records
 * are not even read); otherwise through indexedRunRecords, which brings the index up to date.
 */
export function indexedRunListing(store: SyncStore): IndexedListing[] {
  if (!isDiskStore(store)) return [...unindexedRunRecords(store).records].map(([name, r]) => ({ name, summary: summarize(r), text: listedRunText(r) })).sort((a, b) => byNewest(a.summary, b.summary));
  const served = listingFromIndex(store);
  if (served) return served;
  // Written again even when its records all stand: the listing could not be served (a damaged texts section, say).
  const { records, items } = refreshedIndex(store, { rewrite: true });
  return [...records]
    .map(([name, r]) => {
      const item = items.get(name);
      return { name, summary: item?.summary ?? summarize(r), text: item?.text ?? listedRunText(r) };
    })
    .sort((a, b) => byNewest(a.summary, b.summary));
}

/** The listing if the index serves every run as it stands, else undefined. */
function listingFromIndex(store: DiskStore): IndexedListing[] | undefined {
  const index = readIndexFile(indexPath(store), { texts: 'file' });
  if (!index?.textsFile) return undefined;
  const texts = index.textsFile;
  const names = new Set(store.listRecordsSync('runs'));
  // A run removed since: indexedRunRecords decides. (readIndexFile refuses an index naming a run twice.)
  if (index.entries.some((e) => !names.has(e.name))) return undefined;
  if (names.size !== index.entries.length) {
    // A run added since does too; a run id claimed by a run that never wrote its record (one killed
    // in between: gc keeps its claim) is not listed, and is no reason to read every record again.
    const indexed = new Set(index.entries.map((e) => e.name));
    for (const name of names) if (!indexed.has(name) && statusOf(recordPathOf(store, name))) return undefined;
  }
  const out: IndexedListing[] = [];
  for (let i = 0; i < index.entries.length; i++) {
    const entry = index.entries[i]!;
    const status = statusOf(recordPathOf(store, entry.name));
    if (!status || !trusted(entry, status, index.writtenMs)) return undefined;
    // The tag log of most runs does not exist: asked here without a Stats object or a thrown ENOENT (readTagLog's way).
    const tagLog = entry.summary.id === entry.name ? existsSync(`${store.root}${sep}${tagLogDir(entry.name).replaceAll('/', sep)}`) : undefined;
    // An ASCII text is written as the index's bytes: it is never decoded into a string (issue #18).
    if (entry.ascii) out.push({ name: entry.name, summary: entry.summary, stored: { section: texts, at: index.textAt[i]!, length: entry.textLength }, tagLog });
    else {
      const text = listedTextAgain(texts.read(index.textAt[i]!, entry.textLength).toString('latin1'));
      if (text === undefined) return undefined;
      out.push({ name: entry.name, summary: entry.summary, text, tagLog });
    }
  }
  return out;
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
 * unchanged) whose record, summary or listing text disagree with the record. A missing or
 * unreadable index is no problem: it is rebuilt.
 */
export function runIndexProblems(store: Store): Array<{ run: string; message: string }> {
  if (!isDiskStore(store)) return [];
  // Also an index whose digests do not match: a listing would rebuild it, but fsck says what it held.
  const old = readIndexFile(indexPath(store), { records: true, verified: false });
  if (!old) return [];
  const problems: Array<{ run: string; message: string }> = [];
  for (let i = 0; i < old.entries.length; i++) {
    const entry = old.entries[i]!;
    const path = recordPathOf(store, entry.name);
    const status = statusOf(path);
    if (!status || !trusted(entry, status, old.writtenMs)) continue;
    const what = entryDisagreement(store, old, i, path);
    if (what) problems.push({ run: entry.name, message: `The run index ${indexPath(store)} holds ${what} of ${entry.name} that differs from ${path}, whose file it claims is unchanged.` });
  }
  return problems;
}

/** What of an index entry disagrees with its record file (undefined: nothing, or the record cannot be read: reported as such elsewhere). */
function entryDisagreement(store: DiskStore, index: IndexContents, i: number, path: string): string | undefined {
  let actual: unknown;
  try {
    actual = store.readRecordSync<unknown>(runRecordPath(index.entries[i]!.name));
  } catch {
    return undefined;
  }
  if (JSON.stringify(actual) !== JSON.stringify(index.records![i])) return 'a record';
  let record: RunRecord;
  try {
    record = checkRunRecord(actual, path);
  } catch {
    return undefined;
  }
  if (JSON.stringify(summarize(record)) !== JSON.stringify(index.entries[i]!.summary)) return 'a summary';
  const text = listedRunText(record);
  if (asciiJson(text) !== storedText(index, i) || index.entries[i]!.ascii !== (asciiJson(text) === text)) return 'a `flow runs --json` text';
  return undefined;
}

const storedText = (index: IndexContents, i: number) => index.texts.toString('latin1', index.textAt[i], index.textAt[i]! + index.entries[i]!.textLength);

function summarize(r: RunRecord): RunSummary {
  const v = runView(r);
  return { id: v.id, flow: v.flow, ...(v.user !== undefined ? { user: v.user } : {}), tags: [...v.tags], listed: v.listed, kind: v.kind, status: r.status, host: r.host, pid: r.pid };
}

/** The printed text of a run whose stored text has \u escapes: its value printed again (undefined: not JSON, so not served). */
function listedTextAgain(stored: string): string | undefined {
  try {
    return listedRunTextOf(JSON.parse(stored) as ListedRun);
  } catch {
    return undefined;
  }
}

function writeIndex(store: DiskStore, items: Array<IndexItem & { text: string }>): void {
  try {
    writeIndexFile(indexPath(store), items);
  } catch {
    // A read-only store (or a full disk) is listed without an index; nothing depends on it.
  }
}

const indexPath = (store: DiskStore) => join(store.root, RUN_INDEX_PATH);
// runRecordPath's layout, joined by hand: path.join's normalising is a visible part of 1,000 stats.
const recordPathOf = (store: DiskStore, name: string) => `${store.root}${sep}runs${sep}${name}${sep}run.json`;

function trusted(entry: IndexEntry, status: FileStatus, writtenMs: number): boolean {
  const a = entry.stat;
  return a[0] === status[0] && a[1] === status[1] && a[2] === status[2] && a[3] === status[3] && status[3] + RACY_MS < writtenMs && status[2] + RACY_MS < writtenMs;
}

function statusOf(path: string): FileStatus | undefined {
  try {
    const s = statSync(path, { throwIfNoEntry: false });
    return s?.isFile() ? [s.ino, s.size, s.mtimeMs, s.ctimeMs] : undefined;
  } catch {
    return undefined; // ENOTDIR (a file where a run directory belongs), EACCES: read it the ordinary way
  }
}
