import { appendFileSync, closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { DiskStore } from '../store/types.js';

/**
 * Where one stream of a task attempt's output is when the attempt ends: a spool file the
 * worker wrote (local pool), an object already in the local store (Batch downloads it), or a
 * literal (an attempt that never started).
 */
export type LogSource = { file: string } | { object: string } | { text: string };

export interface AttemptLogs {
  stdout: LogSource;
  stderr: LogSource;
}

export const NO_LOGS: AttemptLogs = { stdout: { text: '' }, stderr: { text: '' } };

/**
 * Stores an attempt's stdout and stderr as objects and returns their hashes; `trailer` (a
 * failure's stack trace) is appended to stderr, as a traceback would be. A spool file is
 * streamed into the store and removed, so a log of any size costs the orchestrator a few
 * buffers of memory, never the whole log.
 */
export async function storeAttemptLogs(store: DiskStore, logs: AttemptLogs, trailer?: string): Promise<{ stdout: string; stderr: string }> {
  return { stdout: await storeLog(store, logs.stdout), stderr: await storeLog(store, logs.stderr, trailer) };
}

/** Stores that already hold the empty object (most tasks print nothing on one stream or both). */
const emptyStored = new WeakSet<DiskStore>();
const EMPTY_HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

async function storeLog(store: DiskStore, source: LogSource, trailer?: string): Promise<string> {
  if ('text' in source) {
    if (source.text === '' && !trailer && emptyStored.has(store)) return EMPTY_HASH;
    const hash = store.putObjectSync(Buffer.from(withTrailer(source.text, trailer)));
    if (hash === EMPTY_HASH) emptyStored.add(store);
    return hash;
  }
  if ('object' in source) {
    if (!trailer) return source.object;
    return store.putObjectSync(Buffer.from(withTrailer(store.getObjectSync(source.object).toString('utf8'), trailer)));
  }
  try {
    if (trailer) {
      const last = readTail(source.file, 1);
      appendFileSync(source.file, `${last && last !== '\n' ? '\n' : ''}${trailer}\n`);
    } else if (emptyStored.has(store) && fileSize(source.file) === 0) {
      // Referenced by this run's earlier records already, so gc keeps it: no need to store it again.
      return EMPTY_HASH;
    }
    const hash = await store.putObjectFromFile(source.file);
    if (hash === EMPTY_HASH) emptyStored.add(store);
    return hash;
  } finally {
    // Off the event loop: nothing waits for the spool file to go.
    void rm(source.file, { force: true }).catch(() => undefined);
  }
}

function withTrailer(text: string, trailer?: string): string {
  if (!trailer) return text;
  return `${text}${text && !text.endsWith('\n') ? '\n' : ''}${trailer}\n`;
}

/** A file's size (0 when missing: a task that never started writing). */
function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Up to the last `max` bytes of a file as UTF-8 ('' when missing): enough to recognise how a process died. */
export function readTail(path: string, max: number): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, max);
    const buf = Buffer.alloc(len);
    const n = readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}
