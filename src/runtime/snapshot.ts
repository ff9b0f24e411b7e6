import { existsSync, readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import type { FlowConfig } from '../config/config.js';
import { ExitCode, FlowError } from '../errors/index.js';
import { formatBytes } from '../util/bytes.js';
import { captureGitAndFiles, listProjectFiles, type GitOptions } from '../git/git.js';
import { DEFAULT_CODE_PACKAGE_MAX_BYTES, buildCodePackage, manifestOf } from '../package/code-package.js';
import { SnapshotFilter } from '../package/exclusions.js';
import type { DiskStore } from '../store/types.js';
import { sha256 } from '../util/hash.js';
import { displayValue } from '../util/terminal.js';
import { FLOWRUN_VERSION } from '../util/package-info.js';
import type { CodeRecord, EnvRecord, GitRecord } from '../metadata/records.js';
import { traceMark } from '../util/trace.js';

export interface ProjectSnapshot {
  git: GitRecord | null;
  code: CodeRecord;
  env: EnvRecord;
  warnings: string[];
}

const LOCK_FILES = ['package-lock.json', 'pnpm-lock.yaml', 'yarn.lock'];

/**
 * What a run is tied to, captured before it starts: the git state (with the dirty patch as an
 * object), the code package (a deterministic tar of the project's files, content-addressed),
 * and the environment (Node, flowrun, OS, lock file hash). Objects are stored before the run
 * record that names them.
 */
export async function snapshotProject(store: DiskStore, config: FlowConfig, opts: { git?: GitRecord | null } = {}): Promise<ProjectSnapshot> {
  const root = config.projectRoot;
  const warnings: string[] = [];
  let git: GitRecord | null;
  let patch: Buffer | undefined;
  // Credentials files, the store (when inside the project) and codePackage.exclude stay out of
  // both the patch and the package.
  const filter = new SnapshotFilter(root, { store: store.root, exclude: config.codePackage?.exclude });
  const gitOpts: GitOptions = { skip: (abs) => filter.excludes(abs), prune: filter.prunedDirs };
  // Git state and the file list together (they share git's status); a replay has its git state.
  const { state, files } = opts.git !== undefined ? { state: undefined, files: await listProjectFiles(root, gitOpts) } : await captureGitAndFiles(root, gitOpts);
  traceMark('git done');
  if (opts.git !== undefined) {
    git = opts.git;
  } else {
    if (!state) {
      warnings.push(`${root} is not a git repository: the run is recorded without a commit (git: null); its code package still snapshots the files.`);
      git = null;
    } else {
      if (state.commit === null) {
        warnings.push(`${root} has no commits yet: the run is recorded with commit: null (its code package still snapshots every file, so it can be replayed); commit to bind runs to a commit.`);
      }
      const { patch: text, untracked: _untracked, ...rest } = state;
      git = rest;
      if (state.dirty && text !== undefined) patch = Buffer.from(text, 'utf8');
    }
  }
  const { packaged, secrets, backslashed } = sortFiles(files, filter);
  // Credentials files are never stored (DESIGN §5); the run says which ones it left out.
  if (secrets.length) {
    warnings.push(`not packaged, they look like secrets files: ${listSome(secrets)}. A replay runs without them; keep secrets in environment variables (rename templates to .env.example).`);
  }
  if (backslashed.length) {
    warnings.push(`not packaged, their names contain a backslash (a folder separator on Windows, so no archive can hold them safely): ${listSome(backslashed)}. A replay runs without them; rename them to include them.`);
  }
  // Both size guards come before anything is stored: a refused run leaves no object behind.
  const maxBytes = config.codePackage?.maxBytes ?? DEFAULT_CODE_PACKAGE_MAX_BYTES;
  const pkg = buildCodePackage(root, packaged, { maxBytes });
  traceMark('package built');
  if (patch && patch.length > PATCH_SIZE_FACTOR * maxBytes) throw patchTooLarge(patch, PATCH_SIZE_FACTOR * maxBytes);
  const manifest = await manifestOf(pkg.tar);
  traceMark('manifest');
  if (git && patch) git.patch = store.putObjectSync(patch);
  const code: CodeRecord = {
    hash: store.putObjectSync(pkg.tar),
    manifest: store.putObjectSync(Buffer.from(JSON.stringify(manifest))),
    files: manifest.length,
    bytes: pkg.bytes,
  };
  return { git, code, env: environment(root), warnings };
}

/**
 * The dirty patch may be this many times the code package limit: a changed file is in it twice
 * (old and new lines), and a binary one as base85 (5 bytes per 4).
 */
const PATCH_SIZE_FACTOR = 2;

function patchTooLarge(patch: Buffer, limit: number): FlowError {
  // One section per file: `diff --git a/<path> b/<path>`.
  const sections = patch
    .toString('utf8')
    .split(/^(?=diff --git )/m)
    .map((text) => ({ path: /^diff --git a\/(.*?) b\//.exec(text)?.[1] ?? '?', bytes: Buffer.byteLength(text) }));
  const biggest = sections
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 3)
    .map((x) => `${displayValue(x.path)} (${formatBytes(x.bytes)})`)
    .join(', ');
  return new FlowError('GIT_PATCH_TOO_LARGE', `The uncommitted changes of the project make a ${formatBytes(patch.length)} patch, over the ${formatBytes(limit)} limit (twice codePackage.maxBytes); biggest: ${biggest}. Nothing was stored.`, {
    exitCode: ExitCode.usage,
    fix: 'Commit the changes, or add large data files to .gitignore (pass data as an @includeFile parameter instead), or raise `codePackage.maxBytes` in .flowrc.',
    data: { patchBytes: patch.length, limit },
  });
}

function sortFiles(files: string[], filter: SnapshotFilter): { packaged: string[]; secrets: string[]; backslashed: string[] } {
  const out = { packaged: [] as string[], secrets: [] as string[], backslashed: [] as string[] };
  for (const f of files) {
    const reason = filter.reason(f, join(filter.projectRoot, f));
    if (reason === 'secret') out.secrets.push(f);
    else if (reason !== undefined)
      continue; // the store, or excluded on purpose: nothing to report
    else if (f.includes('\\')) out.backslashed.push(f);
    else out.packaged.push(f);
  }
  return out;
}

function listSome(paths: string[]): string {
  return `${paths
    .slice(0, 5)
    .map((p) => displayValue(p))
    .join(', ')}${paths.length > 5 ? `, … (${paths.length})` : ''}`;
}

/** Node, flowrun, OS and the project's lock file: every step's default environment. */
export function environment(root: string): EnvRecord {
  const name = LOCK_FILES.find((f) => existsSync(join(root, f)));
  return {
    node: process.version,
    flowrun: FLOWRUN_VERSION,
    os: platform(),
    arch: arch(),
    lockfile: name ? { name, hash: sha256(readFileSync(join(root, name))) } : null,
  };
}
