/**
 * The code package: a deterministic tarball of the project's files (DESIGN.md §4, ECOSYSTEM.md §7).
 *
 * Determinism rules: the same files give the same bytes and the same hash on any machine.
 * - Entries are exactly the given file list (regular files and in-project symlinks), no directory
 *   entries, deduplicated and sorted by the bytes of their UTF-8 '/'-separated paths.
 * - node-tar packs them with `portable: true` (no uid/gid/uname/gname/atime/ctime/dev/ino),
 *   `mtime: new Date(0)` and `noDirRecurse: true`, synchronously.
 * - Each entry's stat is normalised before node-tar sees it (through its stat cache): files are
 *   0644, or 0755 when the owner exec bit is set (git's rule); symlinks 0777 (0755 once node-tar's
 *   portable mask is applied); mtime 0; nlink 1, so a file that happens to be hard-linked on one
 *   machine is never written as a tar hard link.
 * - The hash is sha256 over the uncompressed tar, so it does not depend on any zlib build.
 *
 * Extraction is the opposite: the archive is distrusted, and goes through safe-extract.ts (every
 * entry checked before anything is written, then node-tar unpacks into an empty directory).
 */
import { lstatSync, mkdirSync, readdirSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { PackSync } from 'tar';
import type { ManifestEntry } from '../metadata/records.js';
import { ExitCode, FlowError } from '../errors/index.js';
import { sha256 } from '../util/hash.js';
import { formatBytes } from '../util/bytes.js';
import { type TarEntry, readTar } from './read-tar.js';
import { EntryChecker, pathProblem as archivePathProblem, safeExtract } from './safe-extract.js';

export const DEFAULT_CODE_PACKAGE_MAX_BYTES = 50 * 1024 * 1024;
/** Extraction refuses archives larger than this multiple of the build guard. */
export const EXTRACT_LIMIT_FACTOR = 10;

export interface CodePackageEntry {
  path: string;
  size: number;
  mode: number;
  type: 'file' | 'symlink';
  linkpath?: string;
}

export interface CodePackage {
  /** sha256 (hex) of the uncompressed tar. */
  hash: string;
  /** The uncompressed tar bytes. */
  tar: Buffer;
  /** The entries in archive order, with the mode as stored. */
  files: CodePackageEntry[];
  /** Length of the tar in bytes. */
  bytes: number;
}

const FILE_MODE = 0o644;
const EXEC_MODE = 0o755;
const LINK_MODE = 0o777;
/** What node-tar's portable mode turns a mode into (tar's mode-fix.js). */
const portableMode = (mode: number): number => (mode | 0o600) & ~0o022;

/** Builds the code package of `root` from `files` (paths relative to root). */
export function buildCodePackage(root: string, files: string[], opts: { maxBytes?: number } = {}): CodePackage {
  const maxBytes = limit(opts.maxBytes, DEFAULT_CODE_PACKAGE_MAX_BYTES);
  const absRoot = resolve(root);
  const realRoot = realpathSync(absRoot);
  const paths = [...new Set(files.map(toPosix))].sort(byteOrder);

  const statCache = new Map<string, Stats>();
  const entries: CodePackageEntry[] = [];
  const parentOk = new Map<string, boolean>();
  let total = 0;
  for (const p of paths) {
    const bad = pathProblem(p);
    if (bad)
      throw new FlowError('CODE_PACKAGE_BAD_PATH', `Cannot package "${p}": it ${bad}.`, {
        exitCode: ExitCode.usage,
        file: p,
        fix: 'Code package paths must be relative to the project root, use "/" and stay inside it; rename the file.',
      });
    const abs = join(absRoot, ...p.split('/'));
    const parent = dirname(p);
    if (parent !== '.' && !checkParent(realRoot, parent, parentOk)) {
      throw new FlowError('CODE_PACKAGE_UNSAFE_LINK', `Cannot package "${p}": its directory "${parent}" is (or is inside) a symlink, so the file may live outside the project.`, {
        exitCode: ExitCode.usage,
        file: p,
        fix: 'Replace the symlinked directory with a real one, or add the path to .gitignore.',
      });
    }
    let st: Stats;
    try {
      st = lstatSync(abs);
    } catch (e) {
      throw new FlowError('CODE_PACKAGE_MISSING_FILE', `Cannot package "${p}": ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (e as Error).message}.`, {
        exitCode: ExitCode.usage,
        file: p,
        cause: e,
        fix: 'Restore the file, or remove it from git (`git rm --cached`) if it was deleted on purpose.',
      });
    }
    if (st.isFile()) {
      const mode = st.mode & 0o100 ? EXEC_MODE : FILE_MODE;
      statCache.set(abs, normalisedStat(st, 0o100000 | mode, st.size));
      entries.push({ path: p, size: st.size, mode: portableMode(mode), type: 'file' });
      total += st.size;
    } else if (st.isSymbolicLink()) {
      const linkpath = toPosix(readlinkSync(abs));
      statCache.set(abs, normalisedStat(st, 0o120000 | LINK_MODE, 0));
      entries.push({ path: p, size: 0, mode: portableMode(LINK_MODE), type: 'symlink', linkpath });
    } else {
      throw new FlowError('CODE_PACKAGE_UNSUPPORTED_FILE', `Cannot package "${p}": it is a ${kindOf(st)}; the code package holds only regular files and symlinks.`, {
        exitCode: ExitCode.usage,
        file: p,
        fix: 'Add it to .gitignore (a git submodule must be vendored or installed as a package).',
      });
    }
  }

  if (total > maxBytes) throw tooLarge(entries, total, maxBytes);

  // The archive must pass the same checks extraction applies, judged in the archive's own namespace.
  const checker = new EntryChecker(CODE_PACKAGE_RULES);
  for (const e of entries) {
    const problem = checker.add(e.path, e.type === 'file' ? 'File' : 'SymbolicLink', e.size, e.linkpath);
    if (problem) throw unsafeLink(e.path, problem.reason);
  }
  const late = checker.finish();
  if (late) throw unsafeLink(late.entry, late.reason);

  const chunks: Buffer[] = [];
  const errors: unknown[] = [];
  const pack = new PackSync({
    cwd: absRoot,
    portable: true,
    mtime: new Date(0),
    noDirRecurse: true,
    strict: true,
    statCache,
  });
  pack.on('data', (c: Buffer) => {
    chunks.push(c);
  });
  pack.on('error', (e: unknown) => {
    errors.push(e);
  });
  try {
    for (const e of entries) pack.add(e.path);
    pack.end();
  } catch (e) {
    errors.push(e); // the sync classes throw file-system errors (EACCES, EIO) straight out of add()
  }
  if (errors.length) {
    const e = errors[0] as NodeJS.ErrnoException & { path?: string };
    const where = e.path ? relative(absRoot, e.path).split(sep).join('/') : undefined;
    throw new FlowError('CODE_PACKAGE_FAILED', `Could not package ${where ? `"${where}"` : 'the project'}: ${e.message}${e.code === 'EOF' ? ' (the file changed while it was being packaged)' : ''}.`, {
      exitCode: ExitCode.runFailed,
      file: where,
      cause: e,
      fix: 'Run again once nothing is writing to the project files.',
    });
  }
  const tar = Buffer.concat(chunks);
  return { hash: sha256(tar), tar, files: entries, bytes: tar.length };
}

/** Lists the entries of a code package (for `flow code RUN`); directories are left out. */
export function listCodePackage(tar: Uint8Array): CodePackageEntry[] {
  let entries: TarEntry[];
  try {
    entries = readTar(tar);
  } catch (e) {
    throw corrupt(e);
  }
  const out: CodePackageEntry[] = [];
  for (const e of entries) {
    const type = e.type === 'SymbolicLink' ? 'symlink' : e.type === 'Directory' ? undefined : 'file';
    if (type) out.push({ path: e.path, size: e.size, mode: e.mode, type, ...(e.linkpath ? { linkpath: e.linkpath } : {}) });
  }
  return out;
}

/** The text of some files inside a stored (uncompressed) code package. */
export async function readPackageFiles(tar: Uint8Array, paths: ReadonlySet<string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of readTar(tar, (p) => paths.has(p))) if (e.data) out.set(e.path, e.data.toString('utf8'));
  return out;
}

/** Path, sha256, size and mode of every file in a package, read from the tar itself, byte-sorted by path. */
export async function manifestOf(tar: Uint8Array): Promise<ManifestEntry[]> {
  const out = readTar(tar, () => true).map((e) => ({ path: e.path, sha256: sha256(e.data ?? Buffer.alloc(0)), size: e.size, mode: e.mode }));
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Extracts a code package into `dir` (created if missing; must be empty) and returns the paths
 * of the files and links written, in archive order. Nothing is written unless every entry passes.
 */
export function extractCodePackage(tar: Uint8Array, dir: string, opts: { maxBytes?: number } = {}): string[] {
  return safeExtract(tar, dir, {
    ...CODE_PACKAGE_RULES,
    maxBytes: limit(opts.maxBytes, DEFAULT_CODE_PACKAGE_MAX_BYTES * EXTRACT_LIMIT_FACTOR),
    unsafe: (r) => unsafeEntry(r.entry, r.reason),
    corrupt,
    failed: (e) =>
      new FlowError('CODE_PACKAGE_UNSAFE', `Extracting the code package into ${dir} failed${e.path ? ` at "${e.path}"` : ''}: ${e.message}.`, {
        exitCode: ExitCode.storeIntegrity,
        file: e.path,
        cause: e,
        fix: 'Check the target directory and free space, then extract into a fresh empty directory.',
      }),
    beforeWrite: requireEmpty,
  });
}

/**
 * What a code package may hold, for the builder and the extractor alike: in-package symlinks,
 * no special mode bits, names judged as on a case-insensitive file system (a package made on
 * Linux is replayed on macOS).
 */
const CODE_PACKAGE_RULES = { symlinks: 'confined', specialModes: 'refuse', foldCase: true, backslashes: 'refuse' } as const;

function requireEmpty(dir: string): void {
  let existing: string[];
  try {
    mkdirSync(dir, { recursive: true });
    existing = readdirSync(dir);
  } catch (e) {
    throw new FlowError('CODE_PACKAGE_TARGET_NOT_EMPTY', `Cannot extract the code package into ${dir}: ${(e as Error).message}.`, {
      exitCode: ExitCode.usage,
      file: dir,
      cause: e,
      fix: 'Extract into a new or empty directory.',
    });
  }
  if (existing.length) {
    throw new FlowError('CODE_PACKAGE_TARGET_NOT_EMPTY', `Cannot extract the code package into ${dir}: the directory is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', …' : ''}).`, {
      exitCode: ExitCode.usage,
      file: dir,
      fix: 'Extract into a new or empty directory.',
    });
  }
}

/* ------------------------------------------------------------------------------------------ */

function limit(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new FlowError('CODE_PACKAGE_BAD_LIMIT', `The code package size limit must be a positive number of bytes, not ${value}.`, {
      exitCode: ExitCode.usage,
      key: 'codePackage.maxBytes',
      fix: 'Set `codePackage.maxBytes` in .flowrc to a positive integer (default 52428800, 50 MiB).',
    });
  }
  return value;
}

/** Why a project path may not be packaged, or undefined: the extractor's rules, and normalised, outside .flow/ and node_modules/. */
function pathProblem(p: string): string | undefined {
  const bad = archivePathProblem(p);
  if (bad) return bad;
  if (p.split('/').some((s) => s === '' || s === '.')) return 'is not a normalised relative path';
  if (p === '.flow' || p.startsWith('.flow/') || p === 'node_modules' || p.startsWith('node_modules/')) return 'is inside .flow/ or node_modules/';
  return undefined;
}

function toPosix(p: string): string {
  const s = sep === '\\' ? p.replaceAll('\\', '/') : p;
  return s.startsWith('./') ? s.slice(2) : s;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** True when `parent` (project-relative) is a real directory inside the project, not reached via a symlink. */
function checkParent(realRoot: string, parent: string, cache: Map<string, boolean>): boolean {
  let ok = cache.get(parent);
  if (ok === undefined) {
    const lexical = join(realRoot, ...parent.split('/'));
    try {
      ok = realpathSync(lexical) === lexical;
    } catch {
      ok = true; /* missing: lstat of the file reports it */
    }
    cache.set(parent, ok);
  }
  return ok;
}

/** A copy of `st` with only what may reach the archive: the normalised type+mode, size, mtime 0, nlink 1. */
function normalisedStat(st: Stats, mode: number, size: number): Stats {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(st) as object) as Stats, st);
  const epoch = new Date(0);
  return Object.assign(copy, {
    mode,
    size,
    nlink: 1,
    uid: 0,
    gid: 0,
    mtime: epoch,
    atime: epoch,
    ctime: epoch,
    birthtime: epoch,
    mtimeMs: 0,
    atimeMs: 0,
    ctimeMs: 0,
    birthtimeMs: 0,
  });
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'named pipe';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  return 'special file';
}

function tooLarge(entries: CodePackageEntry[], total: number, maxBytes: number): FlowError {
  const biggest = entries
    .filter((e) => e.type === 'file')
    .sort((a, b) => b.size - a.size || byteOrder(a.path, b.path))
    .slice(0, 5);
  const list = biggest.map((e) => `${e.path} (${formatBytes(e.size)})`).join(', ');
  return new FlowError('CODE_PACKAGE_TOO_LARGE', `The code package would be ${formatBytes(total)} in ${entries.length} files, over the ${formatBytes(maxBytes)} limit. Biggest files: ${list}.`, {
    exitCode: ExitCode.usage,
    file: biggest[0]?.path,
    fix: 'Add large data or build outputs to .gitignore (pass data as params or artifacts instead), or raise `codePackage.maxBytes` in .flowrc (env FLOW_CODE_PACKAGE_MAX_BYTES).',
    data: { totalBytes: total, maxBytes, biggest: biggest.map((e) => ({ path: e.path, size: e.size })) },
  });
}

function unsafeLink(path: string, reason: string): FlowError {
  return new FlowError('CODE_PACKAGE_UNSAFE_LINK', `Cannot package "${path}": it ${reason}.`, {
    exitCode: ExitCode.usage,
    file: path,
    data: { entry: path, reason },
    fix: 'Make the link relative and pointing inside the project, replace it with the file it points to, or add it to .gitignore.',
  });
}

function unsafeEntry(path: string, reason: string): FlowError {
  return new FlowError('CODE_PACKAGE_UNSAFE', `Refusing to extract the code package: entry "${path}" ${reason}. Nothing was written.`, {
    exitCode: ExitCode.storeIntegrity,
    file: path,
    data: { entry: path, reason },
    fix: 'The archive was not made by flowrun or was tampered with; rebuild it from the project (`flow run`) and run `flow fsck` on the store.',
  });
}

function corrupt(e: unknown): FlowError {
  const msg = e instanceof Error ? e.message : String(e);
  return new FlowError('CODE_PACKAGE_CORRUPT', `The code package is not a valid tar archive: ${msg}.`, {
    exitCode: ExitCode.storeIntegrity,
    cause: e,
    fix: 'Run `flow fsck` to find the damaged object, then re-run the flow to rebuild the package.',
  });
}
