/**
 * Capture with isomorphic-git, for when there is no git binary (Batch containers) or git refuses
 * the repository: HEAD, index and working tree walked side by side, the patch written by
 * patch-write.ts. isomorphic-git is imported only here, on first use (~200 ms to load).
 */
import * as nodeFs from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { stripCredentials } from '../util/url-credentials.js';
import { checkDecodedName, isExcluded, nonUtf8Path, skipper } from './file-walk.js';
import { fileSection, gitlinkSection, loadDiff, type ObjectFormat, readWorktreeSide, untrackedSection } from './patch-write.js';
import type { GitOptions, GitState } from './types.js';

type Iso = typeof import('isomorphic-git');
type IsoEntry = import('isomorphic-git').WalkerEntry;

interface Blob {
  oid: string;
  mode: string;
}
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

interface IsoRepo {
  iso: Iso;
  dir: string;
  gitdir: string;
  commit: string | null;
  cache: object;
  skip: (path: string) => boolean;
}

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
  const trees = commit !== null ? [iso.TREE({ ref: commit }), iso.WORKDIR({ refresh: false }), iso.STAGE()] : [iso.WORKDIR({ refresh: false }), iso.STAGE()];
  try {
    await iso.walk({
      fs: nodeFs,
      dir,
      gitdir,
      cache,
      trees,
      map: async (filepath: string, entries: Array<IsoEntry | null>): Promise<null | undefined> => {
        if (filepath === '.') return undefined;
        const [head, work, stage] = commit !== null ? entries : [null, entries[0] ?? null, entries[1] ?? null];
        const segs = filepath.split('/');
        if (segs.includes('.git')) return null;
        const [ht, wt, stt] = await Promise.all([head?.type(), work?.type(), stage?.type()]);
        let ignored = false;
        if (!stage && work) {
          // A trailing slash lets directory-only patterns ("build/") match.
          ignored = isExcluded(filepath) || repo.skip(filepath) || (await iso.isIgnored({ fs: nodeFs, dir, gitdir, filepath: wt === 'tree' ? `${filepath}/` : filepath }));
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

/** captureCli's result, read with isomorphic-git (SHA-1 repositories only). */
export async function captureIso(root: string, opts: GitOptions): Promise<GitState | null> {
  const repo = await openIso(root, opts);
  if (!repo) return null;
  const { iso, dir, gitdir, commit } = repo;
  const headText = await readFile(join(gitdir, 'HEAD'), 'utf8');
  const symref = /^ref:\s*(\S+)/.exec(headText)?.[1];
  const detached = symref === undefined;
  const branch = symref === undefined ? null : symref.replace(/^refs\/heads\//, '');
  // Worktrees keep `shallow` in the common dir; submodules and plain repos in their gitdir.
  const commonDir = await readFile(join(gitdir, 'commondir'), 'utf8').then(
    (c) => resolve(gitdir, c.trim()),
    () => gitdir,
  );
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

/** listCli's result, read with isomorphic-git; null outside a repo. */
export async function listIso(root: string, opts: GitOptions = {}): Promise<string[] | null> {
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
