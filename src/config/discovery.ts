/**
 * Where a project starts and which `.flowrc` belongs to it (DESIGN §7).
 *
 * The project root is found the way git and npm find theirs: the nearest folder, from the flow
 * file's folder upwards, holding `package.json` or `.git`; with neither, the start folder itself.
 * A `.flowrc` is looked up from the start folder to that root and never beyond it: a `.flowrc`
 * in a parent folder (a home directory, a shared mount) would otherwise silently make that
 * folder the project, packaging and uploading everything under it. One found above the root is
 * ignored, with a warning.
 *
 * A `.flowrc` owned by another user is refused, after git's `safe.directory` rule: whoever can
 * write it chooses the store, the mirror bucket and the Batch endpoint, i.e. where a run's code
 * and data go. Files owned by root are accepted, as OpenSSH accepts a root-owned config (root can
 * change anything anyway). `FLOW_SAFE_DIRECTORIES` (a `:`-separated list of folders, or `*`)
 * trusts other owners' files explicitly, like git's `safe.directory`.
 */
import { statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { FlowError, ExitCode } from '../errors/index.js';

export const PROJECT_MARKERS = ['package.json', '.git'] as const;

export interface ProjectLocation {
  /** The nearest folder with package.json or .git; the start folder when there is none. */
  projectRoot: string;
  /** The `.flowrc` that applies (inside the project), if any. */
  rcFile?: string;
  /** Things the user should know: a `.flowrc` above the project root that was not used. */
  warnings: string[];
}

import { findUp } from '../util/find-up.js';

export function locateProject(startDir: string, env: NodeJS.ProcessEnv = process.env): ProjectLocation {
  const start = resolve(startDir);
  const projectRoot = findUp(start, PROJECT_MARKERS) ?? start;
  const rcDir = findUp(start, ['.flowrc'], projectRoot);
  const warnings: string[] = [];
  if (rcDir === undefined && projectRoot !== dirname(projectRoot)) {
    const above = findUp(dirname(projectRoot), ['.flowrc']);
    if (above !== undefined) {
      warnings.push(`ignoring ${join(above, '.flowrc')}: it is above the project root ${projectRoot} (the nearest folder with package.json or .git); put a .flowrc in the project to configure it.`);
    }
  }
  const rcFile = rcDir === undefined ? undefined : join(rcDir, '.flowrc');
  if (rcFile) checkOwner(rcFile, env);
  return { projectRoot, ...(rcFile ? { rcFile } : {}), warnings };
}

/** Refuses a `.flowrc` that belongs to someone else (see the module comment). */
function checkOwner(file: string, env: NodeJS.ProcessEnv): void {
  if (typeof process.getuid !== 'function') return; // Windows: no POSIX owners to compare
  const me = process.getuid();
  let owner: number;
  try {
    owner = statSync(file).uid;
  } catch {
    return; // unreadable: reading it reports the problem
  }
  if (owner === me || owner === 0 || trusted(dirname(file), env.FLOW_SAFE_DIRECTORIES)) return;
  throw new FlowError('CONFIG_NOT_OWNED', `${file} is owned by another user (uid ${owner}; you are uid ${me}), so flowrun does not read it: whoever can write it decides where your runs' code and data go.`, {
    exitCode: ExitCode.usage,
    file,
    key: '.flowrc',
    fix: `If you trust it, take ownership (chown ${me} ${file}) or set FLOW_SAFE_DIRECTORIES=${dirname(file)}; otherwise remove it.`,
  });
}

function trusted(dir: string, list: string | undefined): boolean {
  if (!list) return false;
  return list.split(':').some((entry) => {
    if (entry === '*') return true;
    if (entry === '') return false;
    const rel = relative(resolve(entry), dir);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  });
}
