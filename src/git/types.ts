/**
 * The shapes of the git binding, shared by its entry (git.ts) and both capture implementations;
 * git.ts re-exports them, so callers import from there.
 */
import type { GitRecord } from '../metadata/records.js';

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
