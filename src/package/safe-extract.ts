/**
 * The one way flowrun unpacks a tar it did not just make (a code package from the store or an S3
 * mirror, a conda package, a Batch step's node_modules tarball). The archive is distrusted:
 *
 * 1. Every header is read and judged before anything is written, as if the entries were written
 *    in order into the target: paths normalised and confined (no absolute path, no `..`, no NUL),
 *    only files, directories, symlinks and hard links to a file earlier in the archive, no entry
 *    inside a symlink or a file (made by the archive or already in the target), no entry twice,
 *    nothing over a path the target already holds, symlink targets resolved through every link
 *    the archive and the target hold and kept inside (or symlinks refused), special mode bits
 *    refused or masked, a total size and an entry count bounded where the caller has a limit.
 * 2. node-tar writes exactly the entries pass 1 approved (its filter drops anything else and
 *    reports it), with ownership and mtimes dropped.
 *
 * A refusal is the caller's coded FlowError, naming the archive and the entry; nothing is written.
 */
import { lstatSync, mkdirSync, readdirSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { Parser, UnpackSync, type ReadEntry } from 'tar';
import type { FlowError } from '../errors/index.js';
import { formatBytes } from '../util/bytes.js';

export type RefusalKind = 'path' | 'type' | 'mode' | 'size' | 'count' | 'duplicate' | 'ancestor' | 'symlink' | 'hardlink' | 'unexpected';

/** Why an entry was refused: `reason` reads after the entry's name ("x" is an absolute path). */
export interface Refusal {
  entry: string;
  reason: string;
  kind: RefusalKind;
}

export interface ExtractPolicy {
  /** Symlinks whose target stays inside the target directory, or none at all. */
  symlinks: 'confined' | 'refuse';
  /** setuid/setgid/sticky bits: refuse the archive, or extract with them cleared. */
  specialModes: 'refuse' | 'mask';
  /** Bound on the headers plus padded bodies, in bytes. */
  maxBytes?: number;
  /** Bound on the number of entries (directories included). */
  maxEntries?: number;
  /** Judge names as a case-insensitive file system would (default: when this host's is). */
  foldCase?: boolean;
  /** A backslash in a name: refused, or a plain character (its `..` segments are refused either way). */
  backslashes?: 'refuse' | 'literal';
  unsafe: (refusal: Refusal) => FlowError;
  corrupt: (cause: unknown) => FlowError;
  /** Writing failed after the checks passed (disk full, permissions); default: the error as it is. */
  failed?: (cause: Error & { path?: string }) => Error;
  /** Runs once the archive has passed, before the target is read or written (e.g. to require it empty). */
  beforeWrite?: (dir: string) => void;
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const SPECIAL_BITS = 0o7000;
type Kind = 'file' | 'dir' | 'symlink' | 'link';

/**
 * Extracts `tar` into `dir` (created if missing) under `policy`; returns the files and links
 * written (not directories), as normalised relative paths in archive order.
 */
export function safeExtract(tar: Uint8Array, dir: string, policy: ExtractPolicy): string[] {
  const input = Buffer.from(tar.buffer, tar.byteOffset, tar.byteLength);
  const checker = new EntryChecker(policy);
  const approved = new Map<string, string>();
  const order: string[] = [];
  const entries: Array<{ path: string; type: string }> = [];

  // Pass 1: the whole archive on its own.
  const parseErrors = readHeaders(
    input,
    policy.maxBytes,
    (e) => {
      const reason = checker.add(e.path, e.type, e.size, e.linkpath, e.mode);
      if (reason) return reason;
      if (!isRoot(e.path)) {
        approved.set(e.path, e.type);
        entries.push({ path: e.path, type: e.type });
        if (e.type !== 'Directory') order.push(canonical(e.path));
      }
      return undefined;
    },
    (refusal) => {
      throw policy.unsafe(refusal);
    },
  );
  const late = checker.finish();
  if (late) throw policy.unsafe(late);
  if (parseErrors.length) throw policy.corrupt(parseErrors[0]);

  // Then against what the target already holds.
  policy.beforeWrite?.(dir);
  mkdirSync(dir, { recursive: true });
  if (readdirSync(dir).length > 0) {
    const target = new TargetChecker(realpathSync(dir));
    for (const e of entries) {
      const refusal = target.check(e.path, e.type === 'Directory');
      if (refusal) throw policy.unsafe(refusal);
    }
    const escaped = checker.finish((key) => target.linkAt(key));
    if (escaped) throw policy.unsafe(escaped);
  }

  // Pass 2: node-tar writes what pass 1 approved, and nothing else.
  const errors: Array<Error & { path?: string }> = [];
  let surprise: string | undefined;
  const unpack = new UnpackSync({
    cwd: dir,
    strict: true,
    preservePaths: false,
    preserveOwner: false,
    noMtime: true,
    unlink: false,
    filter: (path: string, entry: Stats | ReadEntry) => {
      if (isRoot(path)) return false;
      const type = 'type' in entry && typeof entry.type === 'string' ? entry.type : undefined;
      if (approved.get(path) !== type) {
        surprise ??= path;
        return false;
      }
      if (policy.specialModes === 'mask' && typeof entry.mode === 'number') (entry as ReadEntry).mode = entry.mode & ~SPECIAL_BITS;
      return true;
    },
  });
  unpack.on('error', (e: Error) => {
    errors.push(e);
  });
  unpack.end(input);
  if (surprise !== undefined) throw policy.unsafe({ entry: surprise, reason: 'was not in the validated entry list', kind: 'unexpected' });
  const e = errors[0];
  if (e) throw policy.failed ? policy.failed(e) : e;
  return order;
}

interface Header {
  path: string;
  type: string;
  size: number;
  linkpath?: string;
  mode?: number;
}

/**
 * Reads every header of `input` (synchronously: node-tar parses a whole buffer at once); returns
 * the parse errors. The bytes each entry really delivers are counted against `maxBytes` too: a
 * header's size can be overridden (a global pax header's `size` applies to every later entry
 * while the bytes read still follow the entry's own header), and node-tar inflates gzip input,
 * so neither the declared sizes nor the archive's length bound what pass 2 would write.
 */
function readHeaders(input: Buffer, maxBytes: number | undefined, judge: (h: Header) => Refusal | undefined, refuse: (r: Refusal) => never): unknown[] {
  let refusal: Refusal | undefined;
  let delivered = 0;
  const limit = maxBytes ?? Number.MAX_SAFE_INTEGER;
  const parseErrors: unknown[] = [];
  const parser = new Parser({
    strict: true,
    onReadEntry: (e: ReadEntry) => {
      refusal ??= judge({ path: e.path, type: e.type, size: e.size, linkpath: e.linkpath, mode: e.mode });
      e.on('data', (chunk: Buffer) => {
        delivered += chunk.length;
        if (delivered > limit && !refusal) {
          refusal = { entry: e.path, reason: `holds more bytes than its header declares, taking the archive past the ${formatBytes(limit)} extraction limit`, kind: 'size' };
          // Stop reading: the rest of a bomb is not inflated just to be discarded.
          parser.abort(new Error('extraction limit'));
        }
      });
      e.resume();
    },
  });
  parser.on('ignoredEntry', (e: ReadEntry) => {
    refusal ??= { entry: e.path, reason: `is an oversized ${e.type} header`, kind: 'type' };
  });
  parser.on('error', (e: unknown) => {
    parseErrors.push(e);
  });
  parser.end(input);
  if (refusal) refuse(refusal);
  return parseErrors;
}

/**
 * Judges tar entries one by one, in archive order, as if they were written into an empty
 * directory. The code package builder uses it too, so a package flowrun builds is always one it
 * will extract.
 */
export class EntryChecker {
  private total = 0;
  private count = 0;
  private readonly kinds = new Map<string, Kind>();
  /** Folded keys, to be safe on case-insensitive file systems too. */
  private readonly foldedNonDirs = new Map<string, Kind>();
  private readonly foldedDirs = new Set<string>();
  private readonly dirs = new Set<string>();
  private readonly links = new Map<string, string>();
  private readonly foldedLinks = new Map<string, string>();
  private readonly fold: (p: string) => string;

  constructor(private readonly policy: Pick<ExtractPolicy, 'symlinks' | 'specialModes' | 'maxBytes' | 'maxEntries' | 'foldCase' | 'backslashes'>) {
    this.fold = (policy.foldCase ?? CASE_INSENSITIVE_HOST) ? foldName : (p) => p;
  }

  /** Returns why the entry is unsafe, or undefined. */
  add(path: string, type: string, size: number, linkpath: string | undefined, mode = 0): Refusal | undefined {
    const refuse = (reason: string, kind: RefusalKind): Refusal => ({ entry: path, reason, kind });
    const bad = pathProblem(path, this.policy.backslashes ?? 'refuse');
    if (bad) return refuse(bad, 'path');
    if (this.policy.specialModes === 'refuse' && mode & SPECIAL_BITS) return refuse(`has setuid/setgid/sticky bits (mode ${mode.toString(8)})`, 'mode');
    let kind: Kind;
    if (FILE_TYPES.has(type)) kind = 'file';
    else if (type === 'Directory') kind = 'dir';
    else if (type === 'SymbolicLink') kind = 'symlink';
    else if (type === 'Link') kind = 'link';
    else return refuse(`is a ${type} entry; only files, directories and symlinks are allowed`, 'type');
    if (kind === 'symlink' && this.policy.symlinks === 'refuse') return refuse('is a symlink; this archive may hold only files and directories', 'symlink');

    const maxBytes = this.policy.maxBytes ?? Number.MAX_SAFE_INTEGER;
    this.total += 512 + Math.ceil(Math.max(0, size) / 512) * 512;
    if (size > maxBytes || this.total > maxBytes) return refuse(`declares ${formatBytes(size)}, taking the archive past the ${formatBytes(maxBytes)} extraction limit`, 'size');
    if (++this.count > (this.policy.maxEntries ?? Number.MAX_SAFE_INTEGER)) return refuse(`takes the archive past the ${this.policy.maxEntries} entries extraction limit`, 'count');
    if (isRoot(path)) return kind === 'dir' ? undefined : refuse('has an empty path', 'path');

    const segs = segments(path);
    const key = segs.join('/');
    // Every ancestor must be a plain directory: never a file, a link, or a symlink.
    for (let i = 1; i < segs.length; i++) {
      const prefix = segs.slice(0, i).join('/');
      const k = this.kinds.get(prefix) ?? this.foldedNonDirs.get(this.fold(prefix));
      if (k && k !== 'dir') return refuse(`is inside "${prefix}", which is a ${k === 'symlink' ? 'symlink' : 'file'}`, 'ancestor');
    }
    if (this.kinds.has(key)) return refuse('appears twice in the archive', 'duplicate');
    if (kind !== 'dir' && (this.dirs.has(key) || this.foldedDirs.has(this.fold(key)))) return refuse('would replace a directory', 'duplicate');
    if (kind === 'link') {
      if (linkpath === undefined) return refuse('is a hard link without a target', 'hardlink');
      const lb = pathProblem(linkpath, this.policy.backslashes ?? 'refuse');
      if (lb) return refuse(`is a hard link whose target "${linkpath}" ${lb}`, 'hardlink');
      if (this.kinds.get(segments(linkpath).join('/')) !== 'file') return refuse(`is a hard link to "${linkpath}", which is not a file earlier in the archive`, 'hardlink');
    }
    if (kind === 'symlink') {
      if (!linkpath) return refuse('is a symlink without a target', 'symlink');
      if (isAbsolute(linkpath)) return refuse(`is a symlink to the absolute path "${linkpath}"`, 'symlink');
      if (linkpath.includes('\0')) return refuse('is a symlink whose target contains a NUL byte', 'symlink');
      this.links.set(key, linkpath);
      this.foldedLinks.set(this.fold(key), linkpath);
    }

    this.kinds.set(key, kind);
    if (kind === 'dir') this.foldedDirs.add(this.fold(key));
    else this.foldedNonDirs.set(this.fold(key), kind);
    for (let i = 1; i < segs.length; i++) {
      const prefix = segs.slice(0, i).join('/');
      this.dirs.add(prefix);
      this.foldedDirs.add(this.fold(prefix));
    }
    return undefined;
  }

  /**
   * Symlink targets, resolved through every symlink in the archive (so chains are seen) and,
   * with `onDisk`, through those the target directory already holds.
   */
  finish(onDisk: (key: string) => string | undefined = () => undefined): Refusal | undefined {
    for (const [path, target] of this.links) {
      const from = segments(path).slice(0, -1);
      const exact = resolveVirtual(from, target, (k) => this.links.get(k) ?? onDisk(k));
      const folded = resolveVirtual(from, target, (k) => this.foldedLinks.get(this.fold(k)) ?? onDisk(k));
      if (!exact || !folded) return { entry: path, reason: `is a symlink to "${target}", which resolves outside the target directory (or loops)`, kind: 'symlink' };
    }
    return undefined;
  }
}

/**
 * What the target directory already holds, for an archive extracted into a non-empty one: no
 * entry may pass through a symlink or a file there, nor land on a path it holds (only a
 * directory entry over an existing directory is fine).
 */
class TargetChecker {
  /** lstat results by archive-relative key; null: absent. */
  private readonly seen = new Map<string, Stats | null>();

  constructor(private readonly root: string) {}

  check(path: string, isDir: boolean): Refusal | undefined {
    const segs = segments(path);
    for (let i = 1; i < segs.length; i++) {
      const prefix = segs.slice(0, i).join('/');
      const st = this.stat(prefix);
      if (st === null) return undefined; // absent: nothing below it exists either
      if (!st.isDirectory()) return { entry: path, reason: `is inside "${prefix}", which is a ${st.isSymbolicLink() ? 'symlink' : 'file'} already in the target directory`, kind: 'ancestor' };
    }
    const st = this.stat(segs.join('/'));
    if (st && !(isDir && st.isDirectory())) return { entry: path, reason: 'is already in the target directory (an entry is never written over)', kind: 'duplicate' };
    return undefined;
  }

  /** The target of a symlink the target directory holds at `key`. */
  linkAt(key: string): string | undefined {
    const st = this.stat(key);
    return st?.isSymbolicLink() ? readlinkSync(join(this.root, key)) : undefined;
  }

  private stat(key: string): Stats | null {
    let st = this.seen.get(key);
    if (st === undefined) {
      st = lstatSync(join(this.root, key), { throwIfNoEntry: false }) ?? null;
      this.seen.set(key, st);
    }
    return st;
  }
}

/**
 * Resolves `target` from directory `from` (archive-relative segments) the way the kernel would,
 * following the symlinks `linkAt` knows. Returns false when it climbs above the root or loops.
 */
function resolveVirtual(from: string[], target: string, linkAt: (key: string) => string | undefined): boolean {
  let budget = 40;
  const walk = (cur: string[], rel: string): string[] | undefined => {
    if (isAbsolute(rel)) return undefined;
    for (const seg of rel.split('/')) {
      if (seg === '' || seg === '.') continue;
      if (seg === '..') {
        if (cur.length === 0) return undefined;
        cur.pop();
        continue;
      }
      cur.push(seg);
      const next = linkAt(cur.join('/'));
      if (next !== undefined) {
        if (--budget < 0) return undefined;
        cur.pop();
        const r = walk(cur, next);
        if (!r) return undefined;
        cur = r;
      }
    }
    return cur;
  };
  return walk([...from], target) !== undefined;
}

/** Why a name may not appear in an archive, or undefined ('./' and '//' noise is fine). */
export function pathProblem(p: string, backslashes: 'refuse' | 'literal' = 'refuse'): string | undefined {
  if (p.includes('\0')) return 'contains a NUL byte';
  if (isAbsolute(p)) return 'is an absolute path';
  if (backslashes === 'refuse' && p.includes('\\')) return 'contains a backslash';
  if (p.split(/[\\/]/).includes('..')) return 'contains a ".." segment';
  return undefined;
}

export function isAbsolute(p: string): boolean {
  return p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:/.test(p);
}

export function segments(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}
const canonical = (p: string): string => segments(p).join('/');
const isRoot = (p: string): boolean => segments(p).length === 0;
const foldName = (p: string): string => p.normalize('NFC').toLowerCase();
const CASE_INSENSITIVE_HOST = process.platform === 'darwin' || process.platform === 'win32';
