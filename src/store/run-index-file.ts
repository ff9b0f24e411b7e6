import { isAscii } from 'node:buffer';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { RunRecord, RunStatus } from '../metadata/records.js';
import type { ListedStatus, RunKind } from '../metadata/run-query.js';
import type { ChunkedBytes } from '../util/chunked.js';
import { sha256, sha256OfPieces } from '../util/hash.js';
import { writeFileAtomic } from '../util/fs-atomic.js';

/**
 * The run index's file: a header line, then three sections, each under its own SHA-256 in the
 * header, so a reader reads and verifies only what it uses:
 *
 *   {"schema":"flowrun.run-index/4","sections":[[bytes,sha256] × 3]}\n
 *   entries  JSON array: per run, its directory name, run.json's status and a summary (IndexEntry)
 *   texts    per run, its part of `flow runs --json` (listedRunText), each followed by ",\n"
 *   records  JSON array: per run, its record
 *
 * Runs are in listing order (newest first), so the texts section is the middle of `flow runs
 * --json`'s output as it is: the listing reads the first two sections and prints slices of the
 * texts (no record parsed or stringified, issue #18); readers of records read the entries and
 * the records (the texts only fsck, to check them; a rewrite prints them again from the records).
 * The file is ASCII: every other character is written as a JSON \u escape (a text that needed
 * one is marked, and printed again from its value when listed), so it is decoded as Latin-1 and
 * hashed as read.
 */
export const INDEX_SCHEMA = 'flowrun.run-index/4';

export type FileStatus = [ino: number, size: number, mtimeMs: number, ctimeMs: number];

/** What a listing filters on and liveness needs, without the record (runView, plus the recorded status, host and pid). */
export interface RunSummary {
  id: string;
  flow: string;
  user?: string;
  tags: string[];
  listed: ListedStatus;
  kind: RunKind;
  status: RunStatus;
  host: string;
  pid: number;
}

export interface IndexEntry {
  /** The run's directory name. */
  name: string;
  /** ino, size, mtimeMs, ctimeMs of run.json when read, as Node reports them (JSON keeps a number exactly). */
  stat: FileStatus;
  summary: RunSummary;
  /** Length of its text in the texts section. */
  textLength: number;
  /** The text had no character outside ASCII, so it is stored as printed. */
  ascii: boolean;
}

/** One run of the index: its listing text as printed (not yet escaped); writeIndexFile needs it. */
export interface IndexItem {
  name: string;
  stat: FileStatus;
  summary: RunSummary;
  record: RunRecord;
  text?: string;
}

export interface IndexContents {
  entries: IndexEntry[];
  /**
   * The texts section's bytes (ASCII, kept undecoded: the listing writes slices of them as they
   * are): entry i's text (escaped where it is not `ascii`) at textAt[i], each followed by ",\n".
   */
  texts: Buffer;
  /** The texts section left in the open file, verified (when asked for with `texts: 'file'`; `texts` is empty then). */
  textsFile?: TextsFile;
  textAt: number[];
  /** Records by entry (only when asked for). */
  records?: unknown[];
  /** The index file's ctime, on the file system's clock: every entry was read before it. */
  writtenMs: number;
}

const NON_ASCII_ALL = /[^\x00-\x7f]/g;
/** The header is small; a longer first line is not an index. */
const HEADER_MAX = 512;

export const asciiJson = (text: string): string => text.replace(NON_ASCII_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Newest first: the order `flow runs` lists runs in (stable: equal numbers keep their order). */
export const byNewest = (a: { id: string }, b: { id: string }): number => Number(b.id.slice(4)) - Number(a.id.slice(4));

/** Writes the index of `items` (in any order: the file holds them newest first). */
export function writeIndexFile(path: string, unordered: ReadonlyArray<IndexItem & { text: string }>): void {
  const items = [...unordered].sort((a, b) => byNewest(a.summary, b.summary));
  const texts = items.map((i) => asciiJson(i.text));
  const entries: IndexEntry[] = items.map((i, n) => ({ name: i.name, stat: i.stat, summary: i.summary, textLength: texts[n]!.length, ascii: texts[n] === i.text }));
  const sections = [asciiJson(JSON.stringify(entries)), texts.map((t) => `${t},\n`).join(''), asciiJson(JSON.stringify(items.map((i) => i.record)))];
  const header = JSON.stringify({ schema: INDEX_SCHEMA, sections: sections.map((s) => [s.length, sha256(s)]) });
  writeFileAtomic(path, `${header}\n${sections.join('')}`);
}

/** Bytes read at a time through one reused buffer (TextsFile). */
const CHUNK = 1 << 16;
let chunkBuffer: Buffer | undefined;

/** Closes the file of a TextsFile no longer reachable: it is read for as long as anything can print it. */
const openTexts = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    /* closed with the process */
  }
});

/**
 * The texts section of an index file, left in the file and read when printed: through one 64 KiB
 * buffer, reused. Read into a buffer of its own, 1,000 runs' 1.7 MB cost ~7 ms and the first pass
 * over that fresh memory 4-8 ms more on the project's machine; streamed, checking and printing
 * them together cost ~3.5 ms (issue #18). The file stays open while the TextsFile is reachable: an
 * index renamed over it meanwhile changes nothing it reads.
 */
export class TextsFile {
  constructor(
    private readonly fd: number,
    private readonly start: number,
    readonly length: number,
  ) {
    openTexts.register(this, fd);
  }

  /** Calls `use` with the bytes [at, at + length) in order, as views of one reused buffer (each valid only during the call). */
  eachChunk(at: number, length: number, use: (chunk: Buffer) => void): void {
    const buf = (chunkBuffer ??= Buffer.allocUnsafe(CHUNK));
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, 0, Math.min(CHUNK, length - done), this.start + at + done);
      if (n === 0) throw new Error('the index file is shorter than its header says');
      use(buf.subarray(0, n));
      done += n;
    }
  }

  /** The bytes [at, at + length) in a buffer of their own. */
  read(at: number, length: number): Buffer {
    return readBytes(this.fd, this.start + at, length);
  }

  /** The bytes [at, at + length) as a piece of output, read when printed. */
  slice(at: number, length: number): ChunkedBytes {
    return {
      byteLength: length,
      eachChunk: (use) => this.eachChunk(at, length, use),
      bytesFrom: (offset) => this.read(at + offset, length - offset),
      toString: () => this.read(at, length).toString('utf8'),
    };
  }
}

/**
 * Whether the texts section in `file` is the one the header's digest names (unless not
 * `verified`) and is well formed (wellFormedTexts), read once through the reused buffer.
 */
function verifiedTextsFile(file: TextsFile, digest: string, entries: IndexEntry[], textAt: number[], verified: boolean): boolean {
  // The bytes each text must be followed by (",\n"), as [position, byte] pairs in file order.
  const wanted: number[] = [];
  for (const [i, e] of entries.entries()) wanted.push(textAt[i]! + e.textLength, 0x2c, textAt[i]! + e.textLength + 1, 0x0a);
  let next = 0;
  let offset = 0;
  let good = true;
  const hash = sha256OfPieces((update) =>
    file.eachChunk(0, file.length, (chunk) => {
      if (!good) return;
      if (!wellFormedChunk(chunk)) good = false;
      for (; next < wanted.length && wanted[next]! < offset + chunk.length; next += 2) {
        if (chunk[wanted[next]! - offset] !== wanted[next + 1]) good = false;
      }
      if (verified) update(chunk);
      offset += chunk.length;
    }),
  );
  return good && next === wanted.length && (!verified || hash === digest);
}

/**
 * The index at `path` if it has the index's shape and (unless `verified` is false) every section
 * read matches its digest: then it is the one writeIndexFile wrote. Records are read only if
 * asked, texts unless `texts` is false (then `texts` is empty); with `texts: 'file'`, the texts
 * section is checked as it is read and left in the file (`textsFile`).
 */
export function readIndexFile(path: string, { texts = true as boolean | 'file', records = false, verified = true } = {}): IndexContents | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  let kept = false;
  try {
    const { size, ctimeMs } = fstatSync(fd);
    const head = readBytes(fd, 0, Math.min(size, HEADER_MAX)).toString('latin1');
    const headerLength = head.indexOf('\n') + 1;
    if (headerLength === 0) return undefined;
    const sections = parseHeader(head.slice(0, headerLength - 1));
    if (!sections || headerLength + sections.reduce((n, [length]) => n + length, 0) !== size) return undefined;
    // Each section wanted, read on its own: a reader of records skips the 1.7 MB of texts (1,000 runs).
    const parts: Array<string | undefined> = [];
    let textBytes: Buffer | undefined;
    let at = headerLength;
    for (const [n, [length, digest]] of sections.entries()) {
      if (n === 0 || (n === 1 && texts === true) || (n === 2 && records)) {
        const bytes = readBytes(fd, at, length);
        // Anything outside ASCII was not written by writeIndexFile (and Latin-1 would misread it).
        if (!isAscii(bytes) || (verified && sha256(bytes) !== digest)) return undefined;
        if (n === 1) textBytes = bytes;
        parts.push(n === 1 ? undefined : bytes.toString('latin1'));
      } else parts.push(undefined);
      at += length;
    }
    const entries: unknown = JSON.parse(parts[0]!);
    if (!isEntries(entries)) return undefined;
    const textAt: number[] = [];
    let from = 0;
    for (const e of entries) {
      textAt.push(from);
      from += e.textLength + 2;
    }
    if (from !== sections[1]![0]) return undefined;
    if (textBytes && !wellFormedTexts(textBytes, entries, textAt)) return undefined;
    if (new Set(entries.map((e) => e.name)).size !== entries.length) return undefined;
    const recordList: unknown = records ? JSON.parse(parts[2]!) : undefined;
    if (records && (!Array.isArray(recordList) || recordList.length !== entries.length)) return undefined;
    let textsFile: TextsFile | undefined;
    if (texts === 'file') {
      textsFile = new TextsFile(fd, headerLength + sections[0]![0], sections[1]![0]);
      kept = true;
      if (!verifiedTextsFile(textsFile, sections[1]![1], entries, textAt, verified)) return undefined;
    }
    return { entries, texts: textBytes ?? Buffer.alloc(0), textsFile, textAt, records: recordList as unknown[] | undefined, writtenMs: ctimeMs };
  } catch {
    return undefined;
  } finally {
    // A kept file is closed when its TextsFile is unreachable (openTexts).
    if (!kept) closeSync(fd);
  }
}

/**
 * Texts as writeIndexFile writes them: each followed by ",\n", and no control byte but the
 * newline (JSON.stringify escapes every other one). The digests prove a section is whole, not who
 * wrote it: a hand-made index must not make `flow runs --json` print a terminal escape (issue #13).
 */
function wellFormedTexts(bytes: Buffer, entries: IndexEntry[], textAt: number[]): boolean {
  for (let i = 0; i < entries.length; i++) {
    const end = textAt[i]! + entries[i]!.textLength;
    if (bytes[end] !== 0x2c || bytes[end + 1] !== 0x0a) return false;
  }
  return wellFormedChunk(bytes);
}

/** ASCII with no control byte but the newline. */
function wellFormedChunk(bytes: Buffer): boolean {
  if (!isAscii(bytes)) return false;
  // One native search per control byte: ~1-4 ms for 1,000 runs' 2 MB, where a loop over the bytes in a short-lived process is ~9 ms.
  for (let c = 0; c < 0x20; c++) if (c !== 0x0a && bytes.indexOf(c) !== -1) return false;
  return true;
}

function readBytes(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) throw new Error('the index file is shorter than its header says');
    got += n;
  }
  return buf;
}

function parseHeader(line: string): Array<[number, string]> | undefined {
  const h = JSON.parse(line) as { schema?: unknown; sections?: unknown };
  if (h.schema !== INDEX_SCHEMA || !Array.isArray(h.sections) || h.sections.length !== 3) return undefined;
  const ok = h.sections.every((s: unknown) => Array.isArray(s) && s.length === 2 && Number.isSafeInteger(s[0]) && s[0] >= 0 && typeof s[1] === 'string');
  return ok ? (h.sections as Array<[number, string]>) : undefined;
}

function isEntries(v: unknown): v is IndexEntry[] {
  if (!Array.isArray(v)) return false;
  return v.every((e: Partial<IndexEntry> | null) => {
    if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || !Number.isSafeInteger(e.textLength) || e.textLength! < 0 || typeof e.ascii !== 'boolean') return false;
    if (!Array.isArray(e.stat) || e.stat.length !== 4 || !e.stat.every((x) => typeof x === 'number')) return false;
    const s = e.summary as Partial<RunSummary> | undefined;
    return (
      typeof s === 'object' &&
      s !== null &&
      typeof s.id === 'string' &&
      typeof s.flow === 'string' &&
      Array.isArray(s.tags) &&
      s.tags.every((t) => typeof t === 'string') &&
      typeof s.listed === 'string' &&
      typeof s.kind === 'string' &&
      typeof s.status === 'string' &&
      typeof s.host === 'string' &&
      typeof s.pid === 'number' &&
      (s.user === undefined || typeof s.user === 'string')
    );
  });
}
