import type { FlowConfig } from '../config/config.js';
import { captureGitAndFiles, type GitOptions, type GitState, listProjectFiles } from '../git/git.js';
import { gitCommandsStarted } from '../git/run-git.js';
import type { GitRecord } from '../metadata/records.js';
import { SnapshotFilter } from '../package/exclusions.js';

/**
 * The git state and the file list of a project, being read: started as soon as the project root
 * is known (src/cli/run-command.ts starts it before the run machinery loads and the flow is
 * compiled), so that its ~100 ms of git processes overlap that work instead of following it
 * (issue #18). `snapshotProject` takes it over. A module of its own: starting the capture loads
 * only the git binding and the exclusion rules, not the code package and the store.
 */
export interface ProjectCapture {
  /** The store the capture keeps out of the file list (a store inside the project). */
  readonly storeRoot: string;
  /** Whether the git state is read (a replay has its recorded one, so only the files are listed). */
  readonly readsGit: boolean;
  readonly filter: SnapshotFilter;
  readonly result: Promise<{ state: GitState | null | undefined; files: string[] }>;
  /** Resolves when the git processes are done, however they ended: a failing run waits for it before it exits. */
  readonly settled: Promise<void>;
  /** Resolves once its git processes are running (or it is done without any: no git, isomorphic-git). */
  readonly started: Promise<void>;
}

/** Starts reading the project's git state (unless `opts.git` gives it) and its files. */
export function startProjectCapture(storeRoot: string, config: FlowConfig, opts: { git?: GitRecord | null } = {}): ProjectCapture {
  const root = config.projectRoot;
  // Credentials files, the store (when inside the project) and codePackage.exclude stay out of
  // both the patch and the package.
  const filter = new SnapshotFilter(root, { store: storeRoot, exclude: config.codePackage?.exclude });
  const gitOpts: GitOptions = { skip: (abs) => filter.excludes(abs), prune: filter.prunedDirs };
  // Git state and the file list together (they share git's status); a replay has its git state.
  const readsGit = opts.git === undefined;
  const spawned = gitCommandsStarted();
  const result = readsGit ? captureGitAndFiles(root, gitOpts) : listProjectFiles(root, gitOpts).then((files) => ({ state: undefined, files }));
  // A failure is the snapshot's to report, when it awaits the result; until then it is not unhandled.
  const settled = result.then(
    () => undefined,
    () => undefined,
  );
  return { storeRoot, readsGit, filter, result, settled, started: Promise.race([spawned, settled]) };
}
