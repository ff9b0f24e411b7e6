/**
 * Which files of a project count, and in what order: the paths never captured nor listed (the
 * store, installed dependencies, credentials files kept out of patches), file names that cannot
 * be recorded, the plain walk used outside a git repository, and git's byte order for paths.
 */
import * as nodeFs from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FlowError } from '../errors/flow-error.js';
import { isSecretFile, readSmall } from '../package/secret-files.js';
import type { GitOptions } from './types.js';

/** The patch filter for a repository at `top`, on top-relative paths. */
export function skipper(top: string, opts: GitOptions): (path: string) => boolean {
  if (opts.skip) {
    const skip = opts.skip;
    return (p) => skip(join(top, p));
  }
  return (p) => isSecretFile(p, readSmall(join(top, p)));
}

/** Paths never captured as untracked nor listed as project files: the store and installed deps. */
const EXCLUDED_SEGMENTS = new Set(['.flow', 'node_modules']);

export function isExcluded(path: string): boolean {
  for (const seg of path.split('/')) if (EXCLUDED_SEGMENTS.has(seg)) return true;
  return false;
}

/** A run record is JSON text: a name that is not UTF-8 could not be stored, or packaged, faithfully. */
export function nonUtf8Path(where: string): FlowError {
  return new FlowError('GIT_NON_UTF8_PATH', `A file name in the project (${where}) is not valid UTF-8, so flowrun cannot record it.`, {
    fix: 'Rename the file to a UTF-8 name, or add it to .gitignore.',
  });
}

/** Node decodes names that are not UTF-8 with U+FFFD; such a name cannot be opened again. */
export function checkDecodedName(path: string): void {
  if (path.includes('\uFFFD')) throw nonUtf8Path(path);
}

/** Every file and symlink under `root` (not a git repo), but `.git`, excluded and pruned folders. */
export async function walkPlain(root: string, pruned: ReadonlySet<string>): Promise<string[]> {
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

export function isFileOrLink(full: string): boolean {
  const s = nodeFs.lstatSync(full, { throwIfNoEntry: false });
  return s !== undefined && (s.isFile() || s.isSymbolicLink());
}

export function sortBytes(paths: string[]): string[] {
  // UTF-16 order (JS default) differs from UTF-8 byte order for astral characters.
  return paths
    .map((p) => ({ p, b: Buffer.from(p) }))
    .sort((x, y) => Buffer.compare(x.b, y.b))
    .map((x) => x.p);
}
