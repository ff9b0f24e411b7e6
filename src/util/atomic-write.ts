import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';

/**
 * How far a write is pushed to the disk before it counts as done:
 * - `none`: written and renamed into place; a crash leaves the old file or the whole new one, but a
 *   power loss may leave neither (the rename or the data may still be in the page cache). Readers
 *   verify what they read (objects by hash, records by shape), so a lost or torn file is detected.
 * - `full`: STYLE's write protocol: the temp file is fsynced before the rename and the directory
 *   after it, so the new file survives a power loss once this returns. It costs ~10 ms per write on
 *   the benchmark machine (BENCHMARKS.md, "Write durability"), so it is kept for commit points.
 */
export type Durability = 'none' | 'full';

export interface AtomicWriteOptions {
  durability?: Durability;
  /** File mode of the new file (objects are read-only: 0o444). */
  mode?: number;
}

/**
 * The one write protocol for files others read: the bytes go to a fresh temp file in the target's
 * directory (created exclusively: never an existing file), which is renamed over the target. The
 * directory must exist. On failure the temp file is removed and the file-system error rethrown.
 */
export function writeAtomicSync(path: string, data: string | Uint8Array | readonly Uint8Array[], o: AtomicWriteOptions = {}): void {
  const tmp = writeTemp(path, data, o);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  if (o.durability === 'full') fsyncDir(dirname(path));
}

/**
 * The same protocol for a file that must not be replaced (a claimed run id): the temp file is
 * linked to the target, which fails when it exists. Returns false when it did.
 */
export function createAtomicSync(path: string, data: string | Uint8Array | readonly Uint8Array[], o: AtomicWriteOptions = {}): boolean {
  const tmp = writeTemp(path, data, o);
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
  if (o.durability === 'full') fsyncDir(dirname(path));
  return true;
}

/** Writes the bytes to a new dot-prefixed temp file next to `path` (never listed as a record). */
function writeTemp(path: string, data: string | Uint8Array | readonly Uint8Array[], o: AtomicWriteOptions): string {
  const tmp = join(dirname(path), `.tmp-${randomBytes(8).toString('hex')}`);
  const chunks = typeof data === 'string' ? [Buffer.from(data)] : data instanceof Uint8Array ? [data] : data;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', o.mode ?? 0o644);
    for (const chunk of chunks) writeAll(fd, chunk);
    if (o.durability === 'full') fsyncSync(fd);
    closeSync(fd);
    return tmp;
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Makes a directory's entries (a rename into it) durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.byteLength) off += writeSync(fd, data, off, Math.min(data.byteLength - off, 1 << 30));
}
