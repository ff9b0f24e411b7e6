import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import type { FlowConfig } from '../config/config.js';
import { captureGit, listProjectFiles, type GitOptions } from '../git/git.js';
import { DEFAULT_CODE_PACKAGE_MAX_BYTES, buildCodePackage } from '../package/code-package.js';
import { SnapshotFilter } from '../package/exclusions.js';
import type { LocalStore } from '../store/local.js';
import { sha256 } from '../util/hash.js';
import { displayValue } from '../util/terminal.js';
import { FLOWRUN_VERSION } from '../util/package-info.js';
import type { CodeRecord, EnvRecord, GitRecord, ManifestEntry } from '../metadata/records.js';

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
export async function snapshotProject(store: LocalStore, config: FlowConfig, opts: { git?: GitRecord | null } = {}): Promise<ProjectSnapshot> {
  const root = config.projectRoot;
  const warnings: string[] = [];
  let git: GitRecord | null;
  // Credentials files, the store (when inside the project) and codePackage.exclude stay out of
  // both the patch and the package.
  const filter = new SnapshotFilter(root, { store: store.root, exclude: config.codePackage?.exclude });
  const gitOpts: GitOptions = { skip: (abs) => filter.excludes(abs), prune: filter.prunedDirs };
  // Git state and the file list are independent: capture them side by side.
  const [state, files] = await Promise.all([opts.git !== undefined ? Promise.resolve(undefined) : captureGit(root, gitOpts), listProjectFiles(root, gitOpts)]);
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
      const { patch, untracked: _untracked, ...rest } = state;
      git = rest;
      if (state.dirty && patch !== undefined) git.patch = store.putObjectSync(Buffer.from(patch, 'utf8'));
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
  const pkg = buildCodePackage(root, packaged, { maxBytes: config.codePackage?.maxBytes ?? DEFAULT_CODE_PACKAGE_MAX_BYTES });
  const manifest = await manifestOf(pkg.tar);
  const code: CodeRecord = {
    hash: store.putObjectSync(pkg.tar),
    manifest: store.putObjectSync(Buffer.from(JSON.stringify(manifest))),
    files: manifest.length,
    bytes: pkg.bytes,
  };
  return { git, code, env: environment(root), warnings };
}

function sortFiles(files: string[], filter: SnapshotFilter): { packaged: string[]; secrets: string[]; backslashed: string[] } {
  const out = { packaged: [] as string[], secrets: [] as string[], backslashed: [] as string[] };
  for (const f of files) {
    const reason = filter.reason(f, join(filter.projectRoot, f));
    if (reason === 'secret') out.secrets.push(f);
    else if (reason !== undefined) continue; // the store, or excluded on purpose: nothing to report
    else if (f.includes('\\')) out.backslashed.push(f);
    else out.packaged.push(f);
  }
  return out;
}

function listSome(paths: string[]): string {
  return `${paths.slice(0, 5).map((p) => displayValue(p)).join(', ')}${paths.length > 5 ? `, … (${paths.length})` : ''}`;
}

/** Path, sha256, size and mode of every file in a package, read from the tar itself. */
export async function manifestOf(tar: Uint8Array): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      onReadEntry: (entry: ReadEntry) => {
        const h = createHash('sha256');
        entry.on('data', (c: Buffer) => h.update(c));
        entry.on('end', () => out.push({ path: entry.path, sha256: h.digest('hex'), size: entry.size ?? 0, mode: entry.mode ?? 0 }));
      },
    });
    parser.on('end', () => resolve());
    parser.on('error', reject);
    parser.end(Buffer.from(tar.buffer, tar.byteOffset, tar.byteLength));
  });
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
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
