import type { FlowGraph } from '../graph/types.js';
import type { RunRecord } from '../metadata/records.js';
import type { Stream } from './log-follow.js';
import type { SchedulerEvents, TaskSpec } from './scheduler.js';

/**
 * What a run tells whoever watches it, in the order it happens. The runtime writes nothing to
 * the terminal itself: the CLI's view (src/cli/run-view.ts) subscribes and renders (progress
 * table, plain lines, --json, the quiet rules); a library caller may listen to none.
 */
export interface RunEvents extends SchedulerEvents {
  /** A line about the run's progress outside its tasks (environments installed, Batch jobs, an interruption). */
  info?(line: string): void;
  /** Something worth knowing that does not stop the run (code changed since a resumed run, a cache entry unusable). */
  warning?(text: string): void;
  /** The run record is written: the run exists. A returned promise is awaited before any task starts. */
  started?(record: RunRecord, graph: FlowGraph): void | Promise<void>;
  /** A piece of a task's stdout or stderr, as the task writes it. */
  output?(task: { step: string; taskId: string }, stream: Stream, text: string): void;
  /** Every task has ended (finished, failed or was stopped); the final record is not written yet. */
  tasksEnded?(): void;
  /** The final record is written (before the automatic push to the mirror). */
  finished?(record: RunRecord): void;
  /** A line of the automatic push to the mirror (its warnings start with 'warning'). */
  pushed?(line: string): void;
}

export type { TaskSpec };
