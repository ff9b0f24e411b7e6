/**
 * Git binding (DESIGN §4 run records, issue #5): which commit, branch and dirty state a run came
 * from, plus a patch that rebuilds the exact working tree from that commit, and the list of
 * project files the code package is made of.
 *
 * Two implementations behind one result type:
 * - the git CLI, when `git` is on PATH: a whole capture is four git processes run in parallel,
 *   ~10x faster than isomorphic-git on a 2,000-file repo (ECOSYSTEM §6), and capture sits on
 *   every run's critical path;
 * - isomorphic-git, when there is no git binary (Batch containers) or git refuses the repo.
 *
 * Processes are spawned with node:child_process rather than execa: `import('execa')` alone takes
 * ~200 ms on this machine, twice the whole 100 ms budget, while execFile costs nothing to load;
 * commands started together run in one `sh` (run-git.ts), since each spawn from Node forks the
 * whole orchestrator.
 *
 * The patch is one git-style unified diff (`git apply` accepts it): tracked changes against HEAD
 * first, then one /dev/null→file section per untracked-not-ignored file, binary content in git's
 * "GIT binary patch" format. `applyPatch` applies it with `git apply`, or with the pure
 * JavaScript applier below when git is missing; both check each result against the object id
 * recorded in the patch, so a rebuilt tree is verified byte for byte.
 *
 * All paths in a GitState are relative to the repository's top level, POSIX, not quoted.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, readlink, rm, rmdir, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { ExitCode, FlowError } from '../errors/flow-error.js';
import { isSecretFile, readSmall } from '../package/secret-files.js';
import { stripCredentials } from '../util/url-credentials.js';
import type { GitRecord } from '../metadata/records.js';
import { GitCommandFailed, GitMissing, GitRefused, type GitRun, runGit } from './run-git.js';

/** The git state of a project: the record's fields, with the patch as text and the untracked files. */
export interface GitState extends Omit<GitRecord, 'patch'> {
  /** Present when dirty: applied to a clean checkout of `commit` (or an empty dir) it rebuilds the tree. */
  patch?: string;
  /** Untracked-not-ignored files (with no commits: every file), byte-order sorted. */
  untracked: string[];
}

export type GitImpl = 'cli' | 'isomorphic';

export interface GitOptions {
  /** Force one implementation; by default the CLI when `git` is on PATH, else isomorphic-git. */
  impl?: GitImpl;
  /**
   * Files (absolute paths) whose content never enters the patch: neither as untracked files nor
   * as changes to tracked ones. Default: credentials files (`isSecretFile`, by name and content).
   */
  skip?: (absPath: string) => boolean;
  /** listProjectFiles: absolute folders not to list (a store inside the project). */
  prune?: readonly string[];
}

/** The patch filter for a repository at `top`, on top-relative paths. */
function skipper(top: string, opts: GitOptions): (path: string) => boolean {
  if (opts.skip) { const skip = opts.skip; return (p) => skip(join(top, p)); }
  return (p) => isSecretFile(p, readSmall(join(top, p)));
}

/** Paths never captured as untracked nor listed as project files: the store and installed deps. */
const EXCLUDED_SEGMENTS = new Set(['.flow', 'node_modules']);

function isExcluded(path: string): boolean {
  for (const seg of path.split('/')) if (EXCLUDED_SEGMENTS.has(seg)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Public API

/** Git state of the repository containing `projectRoot`, or null when it is not in one. */
export async function captureGit(projectRoot: string, opts: GitOptions = {}): Promise<GitState | null> {
  const root = await checkRoot(projectRoot);
  try {
    if (opts.impl === 'isomorphic') return await captureIso(root, opts);
    try {
      return await captureCli(root, opts);
    } catch (err) {
      if (opts.impl !== 'cli' && (err instanceof GitMissing || err instanceof GitRefused)) return await captureIso(root, opts);
      throw err;
    }
  } catch (err) {
    throw cliError(err, root);
  }
}

/**
 * The project's files for the code package: git-tracked (submodule contents included) plus
 * untracked-not-ignored, relative to `projectRoot`, POSIX, byte-order sorted, never anything
 * under `.flow/` or `node_modules/`. Outside a git repo: every file under projectRoot except
 * `.git`, `.flow` and `node_modules` directories.
 */
export async function listProjectFiles(projectRoot: string, opts: GitOptions = {}): Promise<string[]> {
  const root = await checkRoot(projectRoot);
  let files: string[] | null;
  try {
    if (opts.impl === 'isomorphic') {
      files = await listIso(root, opts);
    } else {
      try {
        files = await listCli(root);
      } catch (err) {
        if (opts.impl !== 'cli' && (err instanceof GitMissing || err instanceof GitRefused)) files = await listIso(root, opts);
        else throw err;
      }
    }
  } catch (err) {
    throw cliError(err, root);
  }
  const pruned = (opts.prune ?? []).map((d) => relative(root, d).split(sep).join('/')).filter((d) => d !== '' && !d.startsWith('..'));
  if (files === null) files = await walkPlain(root, new Set(pruned));
  const inPruned = (p: string) => pruned.some((d) => p === d || p.startsWith(`${d}/`));
  // ls-files also names files deleted from the working tree, and submodule directories; the
  // code package can only contain what exists, as a file or symlink.
  const kept = files.filter((p) => !isExcluded(p) && !inPruned(p) && isFileOrLink(join(root, p)));
  return sortBytes([...new Set(kept)]);
}

// stripCredentials lives with the other URL-credential helpers; re-exported for callers of this module.
export { stripCredentials } from '../util/url-credentials.js';

/**
 * Rebuild a dirty tree: apply a GitState patch to `dir`, which holds a clean checkout of the
 * recorded commit (e.g. `git archive` output), or is empty when the commit was null.
 */
export async function applyPatch(dir: string, patch: string, opts: GitOptions = {}): Promise<void> {
  const root = resolve(dir);
  if (opts.impl !== 'isomorphic') {
    try {
      await applyCli(root, patch);
      return;
    } catch (err) {
      if (!(err instanceof GitMissing) || opts.impl === 'cli') throw cliError(err, root);
    }
  }
  await applyJs(root, patch);
}

// ---------------------------------------------------------------------------------------------
// Running git

function notARepo(run: GitRun): boolean {
  return run.code !== 0 && /not a git repository/i.test(run.stderr);
}

function cliError(err: unknown, root: string): unknown {
  if (err instanceof FlowError) return err;
  if (err instanceof GitMissing) {
    return new FlowError('GIT_NOT_FOUND', 'git is not on PATH, and the git CLI implementation was requested.', {
      fix: 'Install git, or let flowrun fall back to isomorphic-git by not forcing the CLI.', cause: err,
    });
  }
  if (err instanceof GitRefused) {
    return new FlowError('GIT_REFUSED', `git refuses to read the repository at ${root}: ${err.message}`, {
      fix: `If you trust it, run: git config --global --add safe.directory '${root}'`, cause: err,
    });
  }
  if (!(err instanceof Error)) return err;
  // git CLI: "index file smaller than expected", "bad index file signature"; isomorphic-git: "Invalid dircache magic", "Invalid checksum in GitIndex".
  if (/index file|bad index|dircache|GitIndex/i.test(err.message)) {
    return new FlowError('GIT_INDEX_CORRUPT', `The git index of ${root} (.git/index) is corrupt, so the run cannot record its git state: ${causeLine(err.message)}`, {
      exitCode: ExitCode.remote, file: join(root, '.git', 'index'),
      fix: 'Rebuild the index (your files and commits are untouched): rm .git/index && git reset, then run again.', cause: err,
    });
  }
  // GitCommandFailed, or an error isomorphic-git raised while reading the repository.
  return new FlowError('GIT_FAILED', `Reading git state of ${root} failed: ${causeLine(err.message)}`, {
    exitCode: ExitCode.remote, fix: 'Run the same git command in the project to see the problem; `git status` must work there.', cause: err,
  });
}

/** isomorphic-git wraps its messages in paragraphs of advice; the cause is on the last line. */
function causeLine(message: string): string {
  const lines = message.split('\n').map((l) => l.trim()).filter(Boolean);
  const cause = lines.find((l) => /error message: /.test(l));
  return cause ? cause.replace(/^.*error message: /, '') : lines[0] ?? message;
}

async function checkRoot(projectRoot: string): Promise<string> {
  const root = resolve(projectRoot);
  // A missing cwd makes spawn fail with ENOENT, indistinguishable from a missing git binary.
  const s = await stat(root).catch(() => null);
  if (!s?.isDirectory()) {
    throw new FlowError('PROJECT_ROOT_MISSING', `Project root ${root} is not a directory.`, { file: root, fix: 'Run flow from your project directory.' });
  }
  return root;
}

// ---------------------------------------------------------------------------------------------
// CLI capture

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeStrict(buf: Buffer, what: string): string {
  try {
    return UTF8.decode(buf);
  } catch {
    throw nonUtf8Path(what);
  }
}

/** A run record is JSON text: a name that is not UTF-8 could not be stored, or packaged, faithfully. */
function nonUtf8Path(where: string): FlowError {
  return new FlowError('GIT_NON_UTF8_PATH', `A file name in the project (${where}) is not valid UTF-8, so flowrun cannot record it.`, {
    fix: 'Rename the file to a UTF-8 name, or add it to .gitignore.',
  });
}

/** Node decodes names that are not UTF-8 with U+FFFD; such a name cannot be opened again. */
function checkDecodedName(path: string): void {
  if (path.includes('\uFFFD')) throw nonUtf8Path(path);
}

const DIFF_ARGS = [
  'diff', 'HEAD', '--binary', '--full-index', '--no-color', '--no-ext-diff', '--no-textconv',
  '--no-renames', '--src-prefix=a/', '--dst-prefix=b/', '--no-relative', '--submodule=short',
];

interface StatusEntry { path: string; worktreeMode: string; submodule: boolean }

async function captureCli(root: string, opts: GitOptions): Promise<GitState | null> {
  // All four at once: the diff is speculative (wasted when clean, fails with no commits) but
  // saves a sequential round trip in the dirty case; on 2 cores this is the fastest order.
  const [rp, st, cfg, df] = await Promise.all([
    runGit(root, ['rev-parse', '--show-toplevel', '--is-shallow-repository', '--show-object-format']),
    runGit(root, ['status', '--porcelain=v2', '--branch', '-z', '--untracked-files=all', '--no-renames', '--ignored=no']),
    runGit(root, ['config', '-z', '--get-regexp', '^remote\\..*\\.url$']),
    runGit(root, DIFF_ARGS),
  ]);
  if (notARepo(rp)) return null;
  if (rp.code !== 0) throw new GitCommandFailed(['rev-parse'], rp.code, rp.stderr);
  if (st.code !== 0) throw new GitCommandFailed(['status'], st.code, st.stderr);
  const [top = root, shallowText, formatText] = decodeStrict(rp.stdout, 'repository path').split('\n');
  const objectFormat: ObjectFormat = formatText === 'sha256' ? 'sha256' : 'sha1';

  let commit: string | null = null;
  let branch: string | null = null;
  let detached = false;
  const entries: StatusEntry[] = [];
  const untrackedAll: string[] = [];
  const records = decodeStrict(st.stdout, 'git status').split('\0');
  for (let i = 0; i < records.length; i++) {
    const rec = records[i]!;
    if (rec.startsWith('# branch.oid ')) {
      const v = rec.slice(13);
      commit = v === '(initial)' ? null : v;
    } else if (rec.startsWith('# branch.head ')) {
      const v = rec.slice(14);
      detached = v === '(detached)';
      branch = detached ? null : v;
    } else if (rec.startsWith('? ')) {
      untrackedAll.push(rec.slice(2));
    } else if (rec.startsWith('1 ') || rec.startsWith('2 ') || rec.startsWith('u ')) {
      // Fixed fields before the path: "1 XY sub mH mI mW hH hI path", "2 … X<score> path\0orig", "u … h3 path".
      const kind = rec[0];
      const nFields = kind === '1' ? 8 : kind === '2' ? 9 : 10;
      const { fields, rest } = splitFields(rec, nFields);
      entries.push({ path: rest, worktreeMode: fields[kind === 'u' ? 6 : 5] ?? '', submodule: (fields[2] ?? 'N').startsWith('S') });
      if (kind === '2') i++; // the original path follows as its own record
    }
  }

  // A trailing '/' is a nested repository, whose files git never lists; the store and installed
  // dependencies are not part of the tree a run came from (a project that forgot to ignore
  // .flow/ would otherwise be dirty after its first run and carry the store in every patch).
  const skip = skipper(top, opts);
  const untrackedFiles = untrackedAll.filter((p) => !p.endsWith('/') && !isExcluded(p) && !skip(p));
  const dirty = entries.length > 0 || untrackedFiles.length > 0;
  let untracked = untrackedFiles;
  if (commit === null) {
    // Nothing is committed, so staged files are as untracked as the rest: the patch must carry them.
    const staged = entries.filter((e) => !e.submodule && e.worktreeMode !== '000000' && !skip(e.path)).map((e) => e.path);
    untracked = [...new Set([...untrackedFiles, ...staged])];
  }
  untracked = sortBytes(untracked);

  let patch: string | undefined;
  if (dirty) {
    const parts: string[] = [];
    if (commit !== null) {
      if (df.code !== 0) throw new GitCommandFailed(DIFF_ARGS, df.code, df.stderr);
      // A tracked credentials file's uncommitted changes stay out, as its untracked twin would.
      parts.push(await sanitizeDiff(dropSections(df.stdout, skip), top, objectFormat));
    }
    for (const p of untracked) parts.push(await untrackedSection(top, p, objectFormat));
    patch = parts.join('');
  }

  return {
    commit, branch, dirty, remotes: parseRemoteConfig(cfg), shallow: shallowText === 'true', detached,
    ...(patch !== undefined ? { patch } : {}), untracked,
  };
}

function splitFields(rec: string, n: number): { fields: string[]; rest: string } {
  const fields: string[] = [];
  let pos = 0;
  for (let k = 0; k < n; k++) {
    const sp = rec.indexOf(' ', pos);
    if (sp === -1) return { fields, rest: '' };
    fields.push(rec.slice(pos, sp));
    pos = sp + 1;
  }
  return { fields, rest: rec.slice(pos) };
}

function parseRemoteConfig(cfg: GitRun): Record<string, string> {
  const remotes: Record<string, string> = {};
  if (cfg.code !== 0) return remotes; // exit 1: no remotes configured
  for (const rec of cfg.stdout.toString('utf8').split('\0')) {
    const nl = rec.indexOf('\n');
    if (nl === -1) continue;
    const key = rec.slice(0, nl);
    // Remote names may contain dots: remote.<name>.url.
    const name = key.slice('remote.'.length, -'.url'.length);
    if (name && !(name in remotes)) remotes[name] = stripCredentials(rec.slice(nl + 1));
  }
  return remotes;
}

/**
 * The diff as a string. A text section whose bytes are not UTF-8 (a Latin-1 source file, say)
 * would be mangled by decoding, so such sections are re-emitted as binary literals of the
 * working-tree file, which round-trip exactly.
 */
async function sanitizeDiff(buf: Buffer, top: string, fmt: ObjectFormat): Promise<string> {
  if (isUtf8(buf)) return buf.toString('utf8');
  const starts = sectionStarts(buf);
  const out: string[] = [];
  for (let k = 0; k < starts.length; k++) {
    const section = buf.subarray(starts[k], starts[k + 1] ?? buf.length);
    out.push(isUtf8(section) ? section.toString('utf8') : await binarySectionFor(section, top, fmt));
  }
  return out.join('');
}

/** Offsets of each `diff --git` line: no hunk line can start so (hunk lines start with ' ', '+', '-', '\\'). */
function sectionStarts(buf: Buffer): number[] {
  const starts: number[] = [];
  if (buf.subarray(0, 11).toString('latin1') === 'diff --git ') starts.push(0);
  const marker = Buffer.from('\ndiff --git ');
  for (let i = buf.indexOf(marker); i !== -1; i = buf.indexOf(marker, i + 1)) starts.push(i + 1);
  return starts;
}

/** The diff without the sections of paths `skip` names. */
function dropSections(buf: Buffer, skip: (path: string) => boolean): Buffer {
  const starts = sectionStarts(buf);
  const kept: Buffer[] = [buf.subarray(0, starts[0] ?? buf.length)];
  for (let k = 0; k < starts.length; k++) {
    const section = buf.subarray(starts[k], starts[k + 1] ?? buf.length);
    const nl = section.indexOf(10);
    const path = pathFromDiffLine(section.subarray(0, nl === -1 ? section.length : nl).toString('utf8'));
    if (!skip(path)) kept.push(section);
  }
  return kept.length === starts.length + 1 ? buf : Buffer.concat(kept);
}

async function binarySectionFor(section: Buffer, top: string, fmt: ObjectFormat): Promise<string> {
  const lines = section.toString('latin1').split('\n');
  const header: string[] = [];
  for (const l of lines) {
    if (l.startsWith('--- ') || l.startsWith('@@') || l.startsWith('GIT binary patch') || l.startsWith('Binary files ')) break;
    header.push(l);
  }
  const headerText = decodeStrict(Buffer.from(header.join('\n'), 'latin1'), 'diff header');
  const headerLines = headerText.split('\n');
  const path = pathFromDiffLine(headerLines[0] ?? '');
  if (headerLines.some((l) => l.startsWith('deleted file mode '))) {
    return `${headerText}\nGIT binary patch\n${binaryLiteral(EMPTY)}\n`;
  }
  const side = await readWorktreeSide(join(top, path), fmt);
  if (!side) throw new FlowError('GIT_FAILED', `${path} changed while its git state was being recorded.`, { file: path, fix: 'Run again.' });
  // The index line must name the bytes we embed: git apply verifies binary results against it.
  const fixed = headerLines.map((l) => (l.startsWith('index ') ? l.replace(/^index ([0-9a-f]+)\.\.[0-9a-f]+/, `index $1..${side.oid}`) : l));
  return `${fixed.join('\n')}\nGIT binary patch\n${binaryLiteral(side.bytes)}\n`;
}

async function untrackedSection(top: string, path: string, fmt: ObjectFormat): Promise<string> {
  const side = await readWorktreeSide(join(top, path), fmt);
  // Gone since status listed it, or a socket/FIFO: nothing git could track either.
  if (!side) return '';
  return fileSection(path, null, side, fmt);
}

// ---------------------------------------------------------------------------------------------
// CLI listing and apply

async function listCli(root: string): Promise<string[] | null> {
  const [cached, others] = await Promise.all([
    // Submodule files are part of the code the flow may import, so they are listed too.
    runGit(root, ['ls-files', '-z', '--cached', '--recurse-submodules']),
    runGit(root, ['ls-files', '-z', '--others', '--exclude-standard']),
  ]);
  if (notARepo(cached)) return null;
  if (cached.code !== 0) throw new GitCommandFailed(['ls-files', '--cached'], cached.code, cached.stderr);
  if (others.code !== 0) throw new GitCommandFailed(['ls-files', '--others'], others.code, others.stderr);
  const names = [
    ...decodeStrict(cached.stdout, 'git ls-files').split('\0'),
    // A trailing '/' is a nested repository; its files are not ours to list.
    ...decodeStrict(others.stdout, 'git ls-files').split('\0').filter((p) => !p.endsWith('/')),
  ];
  return names.filter((p) => p !== '');
}

async function applyCli(dir: string, patch: string): Promise<void> {
  if (patch === '') return;
  // The ceiling stops git from finding a repository *around* dir, which would make it apply
  // paths relative to that repository's top level (and silently skip the rest).
  const run = await runGit(dir, ['apply', '--whitespace=nowarn', '--binary', '-p1', '-'], {
    input: patch, env: { GIT_CEILING_DIRECTORIES: dirname(dir) },
  });
  if (run.code !== 0) {
    throw new FlowError('GIT_PATCH_FAILED', `The recorded git patch does not apply to ${dir}: ${run.stderr.trim().split('\n').slice(0, 3).join(' ')}`, {
      fix: 'Apply it to a clean checkout of the recorded commit (git archive <commit>), not to a modified tree.',
    });
  }
}

// ---------------------------------------------------------------------------------------------
// isomorphic-git capture and listing

type Iso = typeof import('isomorphic-git');
type IsoEntry = import('isomorphic-git').WalkerEntry;

interface Blob { oid: string; mode: string }
interface Row {
  path: string;
  head?: Blob;
  stage?: Blob;
  work?: { mode: string; oid?: string };
  /** Not in the index and ignored (or under .flow/node_modules): never reported as untracked. */
  ignored?: boolean;
  /** Submodule: commits recorded in HEAD / index and checked out in its working tree. */
  gitlink?: { head?: string; stage?: string; work?: string };
}

interface IsoRepo { iso: Iso; dir: string; gitdir: string; commit: string | null; cache: object; skip: (path: string) => boolean }

/** git's own discovery: the nearest ancestor holding `.git` (a directory, or a file for submodules). */
function findRepo(start: string): { dir: string; gitdir: string } | null {
  for (let d = start; ; d = dirname(d)) {
    const dotgit = join(d, '.git');
    const s = nodeFs.statSync(dotgit, { throwIfNoEntry: false });
    if (s?.isDirectory()) return { dir: d, gitdir: dotgit };
    if (s?.isFile()) {
      const m = /^gitdir:\s*(.+?)\s*$/m.exec(nodeFs.readFileSync(dotgit, 'utf8'));
      if (m?.[1]) return { dir: d, gitdir: resolve(d, m[1]) };
    }
    if (dirname(d) === d) return null;
  }
}

async function openIso(start: string, opts: GitOptions = {}): Promise<IsoRepo | null> {
  const found = findRepo(start);
  if (!found) return null;
  // Loaded only here: it costs ~200 ms to import and most machines take the CLI path.
  const iso = await import('isomorphic-git');
  let commit: string | null = null;
  try {
    commit = await iso.resolveRef({ fs: nodeFs, dir: found.dir, gitdir: found.gitdir, ref: 'HEAD' });
  } catch (err) {
    // An unborn branch: HEAD names a ref that does not exist yet.
    if (!(err instanceof iso.Errors.NotFoundError)) throw err;
  }
  return { iso, ...found, commit, cache: {}, skip: skipper(found.dir, opts) };
}

function modeString(mode: number): string {
  return mode.toString(8).padStart(6, '0');
}

/** HEAD, index and working tree side by side, pruned like `git status -uall` prunes. */
async function walkIso(repo: IsoRepo): Promise<Row[]> {
  const { iso, dir, gitdir, commit, cache } = repo;
  const rows: Row[] = [];
  const trees = commit !== null
    ? [iso.TREE({ ref: commit }), iso.WORKDIR({ refresh: false }), iso.STAGE()]
    : [iso.WORKDIR({ refresh: false }), iso.STAGE()];
  try {
    await iso.walk({
      fs: nodeFs, dir, gitdir, cache, trees,
      map: async (filepath: string, entries: Array<IsoEntry | null>): Promise<null | undefined> => {
        if (filepath === '.') return undefined;
        const [head, work, stage] = commit !== null ? entries : [null, entries[0] ?? null, entries[1] ?? null];
        const segs = filepath.split('/');
        if (segs.includes('.git')) return null;
        const [ht, wt, stt] = await Promise.all([head?.type(), work?.type(), stage?.type()]);
        let ignored = false;
        if (!stage && work) {
          // A trailing slash lets directory-only patterns ("build/") match.
          ignored = isExcluded(filepath) || repo.skip(filepath) || await iso.isIgnored({ fs: nodeFs, dir, gitdir, filepath: wt === 'tree' ? `${filepath}/` : filepath });
          if (!head) {
            if (ignored) return null;
            if (wt === 'tree' && nodeFs.existsSync(join(dir, filepath, '.git'))) return null; // nested repository
          }
        }
        checkDecodedName(filepath); // after the ignore check: git never looks at ignored names either
        if (ht === 'commit' || stt === 'commit') {
          const link: NonNullable<Row['gitlink']> = {};
          if (head && ht === 'commit') link.head = await head.oid();
          if (stage && stt === 'commit') link.stage = await stage.oid();
          const sub = findRepo(join(dir, filepath));
          if (sub && sub.dir === join(dir, filepath)) {
            link.work = await iso.resolveRef({ fs: nodeFs, dir: sub.dir, gitdir: sub.gitdir, ref: 'HEAD' }).catch(() => undefined);
          }
          rows.push({ path: filepath, gitlink: link });
          return null; // the submodule's own files belong to its repository
        }
        if (ht !== 'blob' && wt !== 'blob' && stt !== 'blob') return undefined; // a directory: descend
        const row: Row = { path: filepath, ...(ignored ? { ignored } : {}) };
        if (head && ht === 'blob') row.head = { oid: await head.oid(), mode: modeString(await head.mode()) };
        if (stage && stt === 'blob') row.stage = { oid: await stage.oid(), mode: modeString(await stage.mode()) };
        if (work && wt === 'blob') {
          // Hashing is only needed to compare with HEAD or the index; untracked files are hashed
          // later, and only when a patch is built.
          row.work = { mode: modeString(await work.mode()), ...(row.head || row.stage ? { oid: await work.oid() } : {}) };
        }
        rows.push(row);
        return undefined; // keep walking: a file in HEAD may be a directory in the working tree
      },
    });
  } catch (err) {
    // isomorphic-git lstat()s every name it reads, ignored ones included, and a name that is not
    // UTF-8 comes back from readdir with U+FFFD and cannot be found again.
    const m = err instanceof Error ? /'([^']*\uFFFD[^']*)'/.exec(err.message) : null;
    if (m) throw nonUtf8Path(m[1] ?? '');
    throw err;
  }
  return rows;
}

function sameBlob(a: Blob | undefined, b: { oid?: string; mode: string } | undefined): boolean {
  return a !== undefined && b !== undefined && a.oid === b.oid && a.mode === b.mode;
}

function rowDirty(r: Row): boolean {
  if (r.gitlink) {
    const { head, stage, work } = r.gitlink;
    return head !== stage || (work !== undefined && work !== stage);
  }
  if (!r.head && !r.stage) return r.work !== undefined;
  return !(sameBlob(r.head, r.stage) && sameBlob(r.stage, r.work));
}

async function captureIso(root: string, opts: GitOptions): Promise<GitState | null> {
  const repo = await openIso(root, opts);
  if (!repo) return null;
  const { iso, dir, gitdir, commit } = repo;
  const headText = await readFile(join(gitdir, 'HEAD'), 'utf8');
  const symref = /^ref:\s*(\S+)/.exec(headText)?.[1];
  const detached = symref === undefined;
  const branch = symref === undefined ? null : symref.replace(/^refs\/heads\//, '');
  // Worktrees keep `shallow` in the common dir; submodules and plain repos in their gitdir.
  const commonDir = await readFile(join(gitdir, 'commondir'), 'utf8').then((c) => resolve(gitdir, c.trim()), () => gitdir);
  const shallowFile = await stat(join(commonDir, 'shallow')).catch(() => null);
  const remotes: Record<string, string> = {};
  for (const r of await iso.listRemotes({ fs: nodeFs, dir, gitdir })) remotes[r.remote] = stripCredentials(r.url);

  const rows = (await walkIso(repo)).sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  const fmt: ObjectFormat = 'sha1'; // isomorphic-git reads only SHA-1 repositories
  const dirty = rows.some(rowDirty);
  // As git defines it: in the working tree, not in the index (with no commits: every file).
  const untracked = rows.filter((r) => !r.gitlink && r.work && !r.ignored && (commit === null || !r.stage) && !repo.skip(r.path)).map((r) => r.path);

  let patch: string | undefined;
  if (dirty) {
    await loadDiff();
    const parts: string[] = [];
    if (commit !== null) {
      for (const r of rows) {
        if (r.gitlink) {
          const { head, work, stage } = r.gitlink;
          const now = work ?? stage;
          if (head && now && head !== now) parts.push(gitlinkSection(r.path, head, now));
          continue;
        }
        // What `git diff HEAD` shows: HEAD against the working tree, for paths in the index; a
        // path in HEAD but not in the index counts as deleted (the untracked section re-adds it).
        const work = r.stage ? r.work : undefined;
        if (!r.head && !work) continue;
        if (repo.skip(r.path)) continue; // a tracked credentials file's changes stay out of the patch
        if (r.head && work && r.head.oid === work.oid && r.head.mode === work.mode) continue;
        const old = r.head ? { mode: r.head.mode, oid: r.head.oid, bytes: Buffer.from((await iso.readBlob({ fs: nodeFs, dir, gitdir, oid: r.head.oid, cache: repo.cache })).blob) } : null;
        const neu = work ? await readWorktreeSide(join(dir, r.path), fmt) : null;
        parts.push(fileSection(r.path, old, neu, fmt));
      }
    }
    for (const p of untracked) parts.push(await untrackedSection(dir, p, fmt));
    patch = parts.join('');
  }
  return { commit, branch, dirty, remotes, shallow: (shallowFile?.size ?? 0) > 0, detached, ...(patch !== undefined ? { patch } : {}), untracked };
}

async function listIso(root: string, opts: GitOptions = {}): Promise<string[] | null> {
  const repo = await openIso(root, opts);
  if (!repo) return null;
  const prefix = relative(repo.dir, root).split(sep).join('/');
  const under = (p: string): string | null => (prefix === '' ? p : p.startsWith(`${prefix}/`) ? p.slice(prefix.length + 1) : null);
  const out: string[] = [];
  for (const r of await walkIso(repo)) {
    const rel = under(r.path);
    if (rel === null) continue;
    if (r.gitlink) {
      // Tracked files of an initialized submodule, as `ls-files --recurse-submodules` lists them.
      const subDir = join(repo.dir, r.path);
      const sub = findRepo(subDir);
      if (sub && sub.dir === subDir) for (const f of (await listIso(subDir)) ?? []) out.push(`${rel}/${f}`);
    } else if (r.work && (r.stage || !r.ignored)) {
      out.push(rel);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Plain directory walk (not a git repo)

async function walkPlain(root: string, pruned: ReadonlySet<string>): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    const entries = await readdir(rel === '' ? root : join(root, rel), { withFileTypes: true });
    for (const e of entries) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      checkDecodedName(p);
      // Symlinked directories are listed as links, not followed: no cycles, no files from outside.
      if (e.isDirectory()) {
        if (e.name !== '.git' && !EXCLUDED_SEGMENTS.has(e.name) && !pruned.has(p)) await visit(p);
      } else if (e.isFile() || e.isSymbolicLink()) {
        out.push(p);
      }
    }
  };
  await visit('');
  return out;
}

function isFileOrLink(full: string): boolean {
  const s = nodeFs.lstatSync(full, { throwIfNoEntry: false });
  return s !== undefined && (s.isFile() || s.isSymbolicLink());
}

function sortBytes(paths: string[]): string[] {
  // UTF-16 order (JS default) differs from UTF-8 byte order for astral characters.
  return paths.map((p) => ({ p, b: Buffer.from(p) })).sort((x, y) => Buffer.compare(x.b, y.b)).map((x) => x.p);
}

// ---------------------------------------------------------------------------------------------
// Writing git patches

type ObjectFormat = 'sha1' | 'sha256';
const EMPTY = Buffer.alloc(0);

interface Side { mode: string; oid: string; bytes: Buffer }

function blobId(bytes: Buffer, fmt: ObjectFormat): string {
  return createHash(fmt).update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

async function readWorktreeSide(full: string, fmt: ObjectFormat): Promise<Side | null> {
  const s = await lstat(full).catch(() => null);
  if (!s) return null;
  let bytes: Buffer;
  let mode: string;
  if (s.isSymbolicLink()) {
    bytes = await readlink(full, { encoding: 'buffer' });
    mode = '120000';
  } else if (s.isFile()) {
    bytes = await readFile(full);
    mode = s.mode & 0o100 ? '100755' : '100644'; // git records only the owner's execute bit
  } else {
    return null;
  }
  return { mode, oid: blobId(bytes, fmt), bytes };
}

/** git's test (a NUL in the first 8000 bytes), plus non-UTF-8, which a JS string cannot carry. */
function isBinary(b: Buffer): boolean {
  return b.subarray(0, 8000).includes(0) || !isUtf8(b);
}

/** git's quote_c_style with core.quotepath=off: only controls, `"` and `\` force quoting. */
function quotePath(p: string): string {
  if (!/[\x00-\x1f\x7f"\\]/.test(p)) return p;
  const esc: Record<number, string> = { 7: 'a', 8: 'b', 9: 't', 10: 'n', 11: 'v', 12: 'f', 13: 'r', 34: '"', 92: '\\' };
  const out: number[] = [];
  for (const byte of Buffer.from(p)) {
    const e = esc[byte];
    if (e !== undefined) out.push(92, e.charCodeAt(0));
    else if (byte < 0x20 || byte === 0x7f) for (const c of `\\${byte.toString(8).padStart(3, '0')}`) out.push(c.charCodeAt(0));
    else out.push(byte);
  }
  return `"${Buffer.from(out).toString('utf8')}"`;
}

function gitlinkSection(path: string, from: string, to: string): string {
  const a = quotePath(`a/${path}`);
  const b = quotePath(`b/${path}`);
  return `diff --git ${a} ${b}\nindex ${from}..${to} 160000\n--- ${a}\n+++ ${b}\n@@ -1 +1 @@\n-Subproject commit ${from}\n+Subproject commit ${to}\n`;
}

/** One `git diff --binary --full-index`-style section; old null = created, new null = deleted. */
function fileSection(path: string, old: Side | null, neu: Side | null, fmt: ObjectFormat): string {
  // git shows a file↔symlink switch as a deletion plus a creation.
  if (old && neu && (old.mode === '120000') !== (neu.mode === '120000')) {
    return fileSection(path, old, null, fmt) + fileSection(path, null, neu, fmt);
  }
  const a = quotePath(`a/${path}`);
  const b = quotePath(`b/${path}`);
  let out = `diff --git ${a} ${b}\n`;
  if (!old && neu) out += `new file mode ${neu.mode}\n`;
  else if (old && !neu) out += `deleted file mode ${old.mode}\n`;
  else if (old && neu && old.mode !== neu.mode) out += `old mode ${old.mode}\nnew mode ${neu.mode}\n`;
  if (old && neu && old.oid === neu.oid) return out;
  const zero = '0'.repeat(fmt === 'sha1' ? 40 : 64);
  const sameMode = old && neu && old.mode === neu.mode ? ` ${old.mode}` : '';
  out += `index ${old?.oid ?? zero}..${neu?.oid ?? zero}${sameMode}\n`;
  const ob = old?.bytes ?? EMPTY;
  const nb = neu?.bytes ?? EMPTY;
  if (ob.length === 0 && nb.length === 0) return out;
  if (isBinary(ob) || isBinary(nb)) return `${out}GIT binary patch\n${binaryLiteral(nb)}\n${binaryLiteral(ob)}\n`;
  // git appends a tab to ---/+++ names containing a space so `patch` can find the end.
  const tab = path.includes(' ') ? '\t' : '';
  out += `--- ${old ? a + tab : '/dev/null'}\n+++ ${neu ? b + tab : '/dev/null'}\n`;
  return out + textHunks(ob.toString('utf8'), nb.toString('utf8'));
}

/** Unified hunks with 3 lines of context, git's header conventions. */
function textHunks(oldText: string, newText: string): string {
  const lines = oldText === '' && newText !== '' ? addedLines(newText, '+')
    : newText === '' && oldText !== '' ? addedLines(oldText, '-')
    : null;
  if (lines) {
    // Whole-file creation or deletion: no diff needed.
    const n = lines.filter((l) => !l.startsWith('\\')).length;
    const range = n === 1 ? '1' : `1,${n}`;
    return `${oldText === '' ? `@@ -0,0 +${range} @@` : `@@ -${range} +0,0 @@`}\n${lines.join('\n')}\n`;
  }
  if (!diffLib) throw new Error('internal: diff library not loaded before building a patch');
  const patch = diffLib.structuredPatch('a', 'b', oldText, newText, undefined, undefined, { context: 3 });
  let out = '';
  for (const h of patch.hunks) {
    out += `@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@\n${h.lines.join('\n')}\n`;
  }
  return out;
}

function range(start: number, count: number): string {
  if (count === 1) return `${start}`;
  return `${count === 0 ? start - 1 : start},${count}`;
}

function addedLines(text: string, sign: '+' | '-'): string[] {
  const parts = text.split('\n');
  const noEol = parts[parts.length - 1] !== '';
  if (!noEol) parts.pop();
  const out = parts.map((l) => sign + l);
  if (noEol) out.push('\\ No newline at end of file');
  return out;
}

// diff is needed only to build patches in the isomorphic path, which loads it before use;
// the CLI path only writes whole-file sections and never pays for the import.
let diffLib: typeof import('diff') | undefined;
async function loadDiff(): Promise<void> {
  diffLib ??= await import('diff');
}

const B85 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~';
const B85_INDEX = new Map([...B85].map((c, i) => [c, i] as const));

/** One hunk of git's binary patch format: zlib-deflated bytes, base85 lines of ≤ 52 bytes. */
function binaryLiteral(bytes: Buffer): string {
  const z = deflateSync(bytes);
  let out = `literal ${bytes.length}\n`;
  for (let i = 0; i < z.length; i += 52) {
    const chunk = z.subarray(i, i + 52);
    const n = chunk.length;
    out += String.fromCharCode(n <= 26 ? 64 + n : 96 + n - 26);
    for (let j = 0; j < n; j += 4) {
      let acc = 0;
      for (let k = 0; k < 4; k++) acc = acc * 256 + (chunk[j + k] ?? 0);
      let group = '';
      for (let k = 0; k < 5; k++) {
        group = B85[acc % 85] + group;
        acc = Math.floor(acc / 85);
      }
      out += group;
    }
    out += '\n';
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading and applying git patches without git (the fallback applier)

interface Hunk { oldStart: number; oldLines: number; oldSide: string[]; newSide: string[] }
interface FilePatch {
  path: string;
  created: boolean;
  deleted: boolean;
  newMode?: string;
  newOid?: string;
  gitlink: boolean;
  hunks: Hunk[];
  binary?: { kind: 'literal' | 'delta'; size: number; data: Buffer };
}

function patchError(msg: string, path?: string): FlowError {
  return new FlowError('GIT_PATCH_FAILED', `The recorded git patch does not apply${path ? ` to ${path}` : ''}: ${msg}`, {
    ...(path ? { file: path } : {}),
    fix: 'Apply it to a clean checkout of the recorded commit (git archive <commit>), not to a modified tree.',
  });
}

function cUnquote(s: string, from: number): { value: string; end: number } {
  const bytes: number[] = [];
  const map: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };
  let i = from + 1;
  while (i < s.length && s[i] !== '"') {
    if (s[i] === '\\') {
      const c = s[i + 1] ?? '';
      if (/[0-7]/.test(c)) { bytes.push(parseInt(s.slice(i + 1, i + 4), 8)); i += 4; continue; }
      bytes.push(map[c] ?? c.charCodeAt(0));
      i += 2;
    } else {
      const cp = s.codePointAt(i) ?? 0;
      const ch = String.fromCodePoint(cp);
      bytes.push(...Buffer.from(ch));
      i += ch.length;
    }
  }
  return { value: Buffer.from(bytes).toString('utf8'), end: i + 1 };
}

/** The path of a `diff --git a/P b/P` line (renames are never produced, so both sides agree). */
function pathFromDiffLine(line: string): string {
  const rest = line.slice('diff --git '.length);
  if (rest.startsWith('"')) return cUnquote(rest, 0).value.slice(2);
  // Unquoted names may contain spaces; "a/P b/P" has length 2|P| + 5.
  return rest.slice(2, 2 + (rest.length - 5) / 2);
}

function parsePatch(patch: string): FilePatch[] {
  const lines = patch.split('\n');
  const files: FilePatch[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (!line.startsWith('diff --git ')) { i++; continue; }
    const fp: FilePatch = { path: pathFromDiffLine(line), created: false, deleted: false, gitlink: false, hunks: [] };
    i++;
    for (; i < lines.length; i++) {
      const l = lines[i]!;
      if (l.startsWith('diff --git ')) break;
      let m: RegExpExecArray | null;
      if ((m = /^new file mode (\d+)$/.exec(l))) { fp.created = true; fp.newMode = m[1]; }
      else if (/^deleted file mode /.test(l)) fp.deleted = true;
      else if ((m = /^new mode (\d+)$/.exec(l))) fp.newMode = m[1];
      else if ((m = /^index [0-9a-f]+\.\.([0-9a-f]+)(?: (\d+))?$/.exec(l))) {
        fp.newOid = m[1];
        if (m[2] === '160000') fp.gitlink = true;
      } else if (/^(rename|copy) (from|to) /.test(l)) throw patchError('renames and copies are not supported', fp.path);
      else if (l.startsWith('Binary files ')) throw patchError('the patch has no binary data (made without --binary)', fp.path);
      else if (l === 'GIT binary patch') {
        const m2 = /^(literal|delta) (\d+)$/.exec(lines[i + 1] ?? '');
        if (!m2) throw patchError('malformed binary patch', fp.path);
        const encoded: string[] = [];
        for (i += 2; i < lines.length && lines[i] !== ''; i++) encoded.push(lines[i]!);
        fp.binary = { kind: m2[1] as 'literal' | 'delta', size: Number(m2[2]), data: inflateSync(decode85(encoded)) };
        // The reverse hunk, if present, is only needed to undo the patch.
        if (/^(literal|delta) \d+$/.test(lines[i + 1] ?? '')) for (i += 1; i < lines.length && lines[i] !== ''; i++);
      } else if ((m = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(l))) {
        const h: Hunk = { oldStart: Number(m[1]), oldLines: m[2] === undefined ? 1 : Number(m[2]), oldSide: [], newSide: [] };
        let oldLeft = h.oldLines;
        let newLeft = m[4] === undefined ? 1 : Number(m[4]);
        let last = ' ';
        // Counting lines rather than looking for the next header: a content line may look like one.
        while (oldLeft > 0 || newLeft > 0 || lines[i + 1]?.startsWith('\\')) {
          i++;
          const c = lines[i];
          if (c === undefined) throw patchError('hunk is truncated', fp.path);
          const tag = c === '' ? ' ' : c[0];
          // Lines are kept as Latin-1 strings so unchanged non-UTF-8 bytes of the file survive.
          const text = Buffer.from(c.slice(1), 'utf8').toString('latin1');
          if (tag === '\\') {
            const strip = (arr: string[]) => { const k = arr.length - 1; if (k >= 0) arr[k] = arr[k]!.replace(/\n$/, ''); };
            if (last !== '+') strip(h.oldSide);
            if (last !== '-') strip(h.newSide);
            continue;
          }
          if (tag === ' ') { h.oldSide.push(`${text}\n`); h.newSide.push(`${text}\n`); oldLeft--; newLeft--; }
          else if (tag === '-') { h.oldSide.push(`${text}\n`); oldLeft--; }
          else if (tag === '+') { h.newSide.push(`${text}\n`); newLeft--; }
          else throw patchError(`unexpected line in hunk: ${c.slice(0, 40)}`, fp.path);
          last = tag;
        }
        fp.hunks.push(h);
      }
    }
    files.push(fp);
  }
  return files;
}

function decode85(lines: string[]): Buffer {
  const out: number[] = [];
  for (const line of lines) {
    const c0 = line.charCodeAt(0);
    const len = c0 >= 65 && c0 <= 90 ? c0 - 64 : c0 - 96 + 26;
    const bytes: number[] = [];
    for (let j = 1; j < line.length; j += 5) {
      let acc = 0;
      for (let k = 0; k < 5; k++) {
        const v = B85_INDEX.get(line[j + k] ?? '');
        if (v === undefined) throw patchError('bad base85 data');
        acc = acc * 85 + v;
      }
      bytes.push(Math.floor(acc / 2 ** 24) & 255, (acc >>> 16) & 255, (acc >>> 8) & 255, acc & 255);
    }
    out.push(...bytes.slice(0, len));
  }
  return Buffer.from(out);
}

/** git's delta format (patch-delta.c): sizes, then copy-from-base and insert instructions. */
function applyDelta(base: Buffer, delta: Buffer): Buffer {
  let p = 0;
  const varint = (): number => {
    let r = 0;
    let mul = 1;
    let b: number;
    do { b = delta[p++] ?? 0; r += (b & 0x7f) * mul; mul *= 128; } while (b & 0x80);
    return r;
  };
  if (varint() !== base.length) throw patchError('binary delta was made against different content');
  const out = Buffer.alloc(varint());
  let o = 0;
  while (p < delta.length) {
    const cmd = delta[p++]!;
    if (cmd & 0x80) {
      let off = 0;
      let size = 0;
      for (let k = 0; k < 4; k++) if (cmd & (1 << k)) off += (delta[p++] ?? 0) * 2 ** (8 * k);
      for (let k = 0; k < 3; k++) if (cmd & (0x10 << k)) size += (delta[p++] ?? 0) * 2 ** (8 * k);
      if (size === 0) size = 0x10000;
      if (off + size > base.length || o + size > out.length) throw patchError('binary delta is corrupt');
      base.copy(out, o, off, off + size);
      o += size;
    } else if (cmd !== 0) {
      if (o + cmd > out.length) throw patchError('binary delta is corrupt');
      delta.copy(out, o, p, p + cmd);
      o += cmd;
      p += cmd;
    } else {
      throw patchError('binary delta is corrupt');
    }
  }
  if (o !== out.length) throw patchError('binary delta is corrupt');
  return out;
}

function applyHunks(old: Buffer, hunks: Hunk[], path: string): Buffer {
  const lines = old.toString('latin1').match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const out: string[] = [];
  let pos = 0;
  for (const h of hunks) {
    // The recorded commit is exact, so hunks must match where they say: no fuzz, no offsets.
    const start = h.oldLines === 0 ? h.oldStart : h.oldStart - 1;
    if (start < pos || start > lines.length) throw patchError(`hunk at line ${h.oldStart} is out of place`, path);
    for (; pos < start; pos++) out.push(lines[pos]!);
    for (const expected of h.oldSide) {
      if (lines[pos] !== expected) throw patchError(`line ${pos + 1} differs from the recorded commit`, path);
      pos++;
    }
    out.push(...h.newSide);
  }
  for (; pos < lines.length; pos++) out.push(lines[pos]!);
  return Buffer.from(out.join(''), 'latin1');
}

function safeTarget(dir: string, path: string): string {
  const full = resolve(dir, path);
  if (path === '' || path.startsWith('/') || path.split('/').includes('..') || !full.startsWith(dir + sep)) {
    throw patchError(`refusing to write outside the tree: ${path}`, path);
  }
  return full;
}

async function applyJs(dir: string, patch: string): Promise<void> {
  for (const fp of parsePatch(patch)) {
    // Submodule commits are recorded for information; their trees are not in this checkout.
    if (fp.gitlink || fp.newMode === '160000') continue;
    const full = safeTarget(dir, fp.path);
    if (fp.deleted) {
      await rm(full, { force: true });
      // Like git apply: directories emptied by a deletion go too.
      for (let d = dirname(full); d !== dir && d.startsWith(dir + sep); d = dirname(d)) {
        if (!(await rmdir(d).then(() => true, () => false))) break;
      }
      continue;
    }
    const existing = fp.created ? null : await lstat(full).catch(() => null);
    if (!fp.created && !existing) throw patchError('the file is missing from the checkout', fp.path);
    const oldBytes = !existing ? EMPTY : existing.isSymbolicLink() ? await readlink(full, { encoding: 'buffer' }) : await readFile(full);
    let bytes: Buffer = oldBytes;
    if (fp.binary) {
      bytes = fp.binary.kind === 'literal' ? fp.binary.data : applyDelta(oldBytes, fp.binary.data);
      if (fp.binary.kind === 'literal' && bytes.length !== fp.binary.size) throw patchError('binary literal has the wrong size', fp.path);
    } else if (fp.hunks.length > 0) {
      bytes = applyHunks(oldBytes, fp.hunks, fp.path);
    }
    // Full object ids let every result be checked, text included: the rebuild is exact or fails.
    if (fp.newOid && (fp.newOid.length === 40 || fp.newOid.length === 64) && !/^0+$/.test(fp.newOid)) {
      const got = blobId(bytes, fp.newOid.length === 40 ? 'sha1' : 'sha256');
      if (got !== fp.newOid) throw patchError(`result does not match the recorded content (${got} ≠ ${fp.newOid})`, fp.path);
    }
    const mode = fp.newMode ?? (existing?.isSymbolicLink() ? '120000' : existing && existing.mode & 0o100 ? '100755' : '100644');
    await mkdir(dirname(full), { recursive: true });
    if (existing && (mode === '120000' || existing.isSymbolicLink())) await rm(full, { force: true });
    if (mode === '120000') {
      await symlink(bytes.toString('utf8'), full);
    } else {
      await writeFile(full, bytes);
      await chmod(full, mode === '100755' ? 0o755 : 0o644);
    }
  }
}
