/**
 * Capture with the git CLI: four git processes run in parallel (run-git.ts puts them in one
 * `sh`), ~10x faster than isomorphic-git on a 2,000-file repo (ECOSYSTEM §6). git writes the
 * tracked changes; untracked files, and text sections whose bytes are not UTF-8, are written by
 * patch-write.ts.
 */
import { isUtf8 } from 'node:buffer';
import { realpathSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { FlowError } from '../errors/flow-error.js';
import { stripCredentials } from '../util/url-credentials.js';
import { isExcluded, nonUtf8Path, skipper, sortBytes } from './file-walk.js';
import { binaryLiteral, EMPTY, type ObjectFormat, pathFromDiffLine, readWorktreeSide, untrackedSection } from './patch-write.js';
import { GitCommandFailed, type GitRun, runGit } from './run-git.js';
import type { GitOptions, GitState } from './types.js';

function notARepo(run: GitRun): boolean {
  return run.code !== 0 && /not a git repository/i.test(run.stderr);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeStrict(buf: Buffer, what: string): string {
  try {
    return UTF8.decode(buf);
  } catch {
    throw nonUtf8Path(what);
  }
}

const DIFF_ARGS = ['diff', 'HEAD', '--binary', '--full-index', '--no-color', '--no-ext-diff', '--no-textconv', '--no-renames', '--src-prefix=a/', '--dst-prefix=b/', '--no-relative', '--submodule=short'];

interface StatusEntry {
  path: string;
  worktreeMode: string;
  submodule: boolean;
}

/** The git state of the repository at `root`, or null outside one (throws GitMissing without git). */
export async function captureCli(root: string, opts: GitOptions): Promise<GitState | null> {
  return (await captureWithStatus(root, opts))?.state ?? null;
}

/**
 * captureCli and listCli at once, with one git process fewer: the untracked part of the file
 * list is what the capture's `git status` reported (the same files `ls-files --others
 * --exclude-standard` names: both read .gitignore, info/exclude and core.excludesFile), taken
 * under `root` and made relative to it. Both null outside a repository.
 */
export async function captureAndListCli(root: string, opts: GitOptions): Promise<{ state: GitState | null; files: string[] | null }> {
  const [captured, cached] = await Promise.all([captureWithStatus(root, opts), runGit(root, LS_CACHED)]);
  if (!captured || notARepo(cached)) return { state: captured?.state ?? null, files: captured ? await listCli(root) : null };
  if (cached.code !== 0) throw new GitCommandFailed(['ls-files', '--cached'], cached.code, cached.stderr);
  // status names paths from the top level, ls-files from root: the project's part of the list.
  const prefix = relative(captured.top, realpathSync(root)).split(sep).join('/');
  let others: string[];
  if (prefix === '') others = captured.untrackedAll;
  else if (!prefix.startsWith('..') && !isAbsolute(prefix)) others = captured.untrackedAll.filter((p) => p.startsWith(`${prefix}/`)).map((p) => p.slice(prefix.length + 1));
  else return { state: captured.state, files: await listCli(root) }; // root is not where git says it is (a path git resolved otherwise)
  return { state: captured.state, files: listedNames(cached.stdout, others) };
}

async function captureWithStatus(root: string, opts: GitOptions): Promise<{ state: GitState; top: string; untrackedAll: string[] } | null> {
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

  const state: GitState = {
    commit,
    branch,
    dirty,
    remotes: parseRemoteConfig(cfg),
    shallow: shallowText === 'true',
    detached,
    ...(patch !== undefined ? { patch } : {}),
    untracked,
  };
  return { state, top, untrackedAll };
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

/** Tracked (submodules included) and untracked-not-ignored files, as `git ls-files` names them; null outside a repo. */
export async function listCli(root: string): Promise<string[] | null> {
  const [cached, others] = await Promise.all([runGit(root, LS_CACHED), runGit(root, ['ls-files', '-z', '--others', '--exclude-standard'])]);
  if (notARepo(cached)) return null;
  if (cached.code !== 0) throw new GitCommandFailed(['ls-files', '--cached'], cached.code, cached.stderr);
  if (others.code !== 0) throw new GitCommandFailed(['ls-files', '--others'], others.code, others.stderr);
  return listedNames(cached.stdout, decodeStrict(others.stdout, 'git ls-files').split('\0'));
}

/** Submodule files are part of the code the flow may import, so they are listed too. */
const LS_CACHED = ['ls-files', '-z', '--cached', '--recurse-submodules'];

function listedNames(cached: Buffer, others: string[]): string[] {
  const names = [
    ...decodeStrict(cached, 'git ls-files').split('\0'),
    // A trailing '/' is a nested repository; its files are not ours to list.
    ...others.filter((p) => !p.endsWith('/')),
  ];
  return names.filter((p) => p !== '');
}
