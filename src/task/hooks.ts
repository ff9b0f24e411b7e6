import type { ArtifactRef, TaskRecord } from '../metadata/records.js';
import type { TaskReads } from './protocol.js';

/**
 * The seam between the scheduler and what runs around each task (the step cache now; the
 * before-task/after-task hooks of decorator plugins later). The scheduler knows nothing of
 * what a hook does: it asks before a task whether to reuse outputs instead of running it, and
 * tells after a task succeeded what it read and what it recorded.
 */

/** A task as hooks see it: its id and what it was handed. */
export interface TaskInputs {
  step: string;
  id: string;
  /** A linear or foreach step: the parent task's artifacts. */
  inherited?: Record<string, ArtifactRef>;
  /** A join: each input's artifacts, in input order. */
  inputs?: Array<Record<string, ArtifactRef>>;
  /** A foreach task: the split artifact and this task's index in it. */
  foreach?: { artifact: ArtifactRef; index: number };
}

/** Outputs a hook hands over instead of running the task (every object already in the local store). */
export interface ReusedTask {
  artifacts: TaskRecord['artifacts'];
  logs: TaskRecord['logs'];
  next?: TaskRecord['next'];
  cards?: TaskRecord['cards'];
  cachedFrom: string;
  cache?: TaskRecord['cache'];
  /** Called once the task's record is written. */
  recorded?: () => void;
}

export interface TaskHooks {
  /** Whether a step's tasks report what they read (TaskReads in their result). */
  tracksReads(step: string): boolean;
  /** Before a task runs: outputs to reuse, or undefined to run it. */
  beforeTask(task: TaskInputs): Promise<ReusedTask | undefined>;
  /**
   * A task ran and succeeded (not reused, not cloned): the hook may add fields to its record
   * before it is written, and returns what to do once it is written.
   */
  afterTask(task: TaskInputs, record: TaskRecord, reads: TaskReads | undefined): (() => void) | undefined;
}
