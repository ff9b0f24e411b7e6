/**
 * Git binding (DESIGN §4 run records, issue #5): which commit, branch and dirty state a run came
 * from, plus a patch that rebuilds the exact working tree from that commit, and the list of
 * project files the code package is made of.
 *
 * Two implementations behind one result type:
 * - the git CLI (capture-cli.ts), when `git` is on PATH: capture sits on every run's critical
 *   path and the CLI is ~10x faster than isomorphic-git on a 2,000-file repo (ECOSYSTEM §6);
 * - isomorphic-git (capture-iso.ts), when there is no git binary (Batch containers) or git
 *   refuses the repo.
 *
 * Processes are spawned with node:child_process rather than execa: `import('execa')` alone takes
 * ~200 ms on this machine, twice the whole 100 ms budget, while execFile costs nothing to load;
 * commands started together run in one `sh` (run-git.ts), since each spawn from Node forks the
 * whole orchestrator.
 *
 * The patch is one git-style unified diff (`git apply` accepts it): tracked changes against HEAD
 * first, then one /dev/null→file section per untracked-not-ignored file, binary content in git's
 * "GIT binary patch" format (patch-write.ts). Each section names the full object id of its
 * result, so a rebuilt tree can be verified byte for byte (the tests' applier,
 * test/helpers/apply-patch.ts, does).
 *
 * All paths in a GitState are relative to the repository's top level, POSIX, not quoted.
 */
import { stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { ExitCode, FlowError } from '../errors/flow-error.js';
import { captureAndListCli, captureCli, listCli } from './capture-cli.js';
import { captureIso, listIso } from './capture-iso.js';
import { isExcluded, isFileOrLink, sortBytes, walkPlain } from './file-walk.js';
import { GitMissing, GitRefused } from './run-git.js';
import type { GitOptions, GitState } from './types.js';

export type { GitImpl, GitOptions, GitState } from './types.js';

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
  return projectFiles(root, files, opts);
}

/**
 * captureGit and listProjectFiles of the same project, as a run needs both: with the git CLI,
 * the listing's untracked files come from the capture's `git status` (one git process fewer
 * on every run's critical path); the results are those of the two calls.
 */
export async function captureGitAndFiles(projectRoot: string, opts: GitOptions = {}): Promise<{ state: GitState | null; files: string[] }> {
  if (opts.impl === 'isomorphic') {
    const [state, files] = await Promise.all([captureGit(projectRoot, opts), listProjectFiles(projectRoot, opts)]);
    return { state, files };
  }
  const root = await checkRoot(projectRoot);
  let both: { state: GitState | null; files: string[] | null };
  try {
    both = await captureAndListCli(root, opts);
  } catch (err) {
    if (opts.impl !== 'cli' && (err instanceof GitMissing || err instanceof GitRefused)) {
      const [state, files] = await Promise.all([captureGit(projectRoot, opts), listProjectFiles(projectRoot, opts)]);
      return { state, files };
    }
    throw cliError(err, root);
  }
  return { state: both.state, files: await projectFiles(root, both.files, opts) };
}

/** The code package's files among what git listed (null: not a repository, every file under root). */
async function projectFiles(root: string, listed: string[] | null, opts: GitOptions): Promise<string[]> {
  let files = listed;
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

/** A failure of either implementation as the FlowError a user sees. */
function cliError(err: unknown, root: string): unknown {
  if (err instanceof FlowError) return err;
  if (err instanceof GitMissing) {
    return new FlowError('GIT_NOT_FOUND', 'git is not on PATH, and the git CLI implementation was requested.', {
      fix: 'Install git, or let flowrun fall back to isomorphic-git by not forcing the CLI.',
      cause: err,
    });
  }
  if (err instanceof GitRefused) {
    return new FlowError('GIT_REFUSED', `git refuses to read the repository at ${root}: ${err.message}`, {
      fix: `If you trust it, run: git config --global --add safe.directory '${root}'`,
      cause: err,
    });
  }
  if (!(err instanceof Error)) return err;
  // git CLI: "index file smaller than expected", "bad index file signature"; isomorphic-git: "Invalid dircache magic", "Invalid checksum in GitIndex".
  if (/index file|bad index|dircache|GitIndex/i.test(err.message)) {
    return new FlowError('GIT_INDEX_CORRUPT', `The git index of ${root} (.git/index) is corrupt, so the run cannot record its git state: ${causeLine(err.message)}`, {
      exitCode: ExitCode.remote,
      file: join(root, '.git', 'index'),
      fix: 'Rebuild the index (your files and commits are untouched): rm .git/index && git reset, then run again.',
      cause: err,
    });
  }
  // GitCommandFailed, or an error isomorphic-git raised while reading the repository.
  return new FlowError('GIT_FAILED', `Reading git state of ${root} failed: ${causeLine(err.message)}`, {
    exitCode: ExitCode.remote,
    fix: 'Run the same git command in the project to see the problem; `git status` must work there.',
    cause: err,
  });
}

/** isomorphic-git wraps its messages in paragraphs of advice; the cause is on the last line. */
function causeLine(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const cause = lines.find((l) => /error message: /.test(l));
  return cause ? cause.replace(/^.*error message: /, '') : (lines[0] ?? message);
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
