import type { RunView } from '../diff/diff.js';
import { type ClonedSource, type RunRecord, type TaskRecord, runRecordPath, taskRecordPath } from '../metadata/records.js';
import type { SyncStore } from '../store/types.js';

/**
 * Where a task of the origin came from when `flow resume` cloned it: the task (followed through
 * resumes of resumes) whose code really computed it, and that run's commit, read from its
 * record while it is still in the store. Undefined for a task the origin ran itself.
 */
export function clonedSource(store: SyncStore, origin: RunView, task: string): ClonedSource | undefined {
  const [step, id] = task.split('/') as [string, string];
  let rec: TaskRecord | undefined = origin.tasks[step]?.find((t) => t.id === id);
  if (!rec?.clonedFrom) return undefined;
  let source = rec.clonedFrom;
  // Bounded: a forged chain of records that point at each other must not loop.
  for (let hops = 0; hops < 100; hops++) {
    const [run, s, t] = source.split('/') as [string, string, string];
    rec = readQuietly<TaskRecord>(store, taskRecordPath(run, s, t));
    if (!rec?.clonedFrom) break;
    source = rec.clonedFrom;
  }
  const run = readQuietly<RunRecord>(store, runRecordPath(source.split('/')[0]!));
  return run ? { task: source, commit: run.git?.commit ?? null, dirty: run.git?.dirty ?? false } : { task: source };
}

function readQuietly<T>(store: SyncStore, path: string): T | undefined {
  try {
    return store.readRecordSync<T>(path);
  } catch {
    return undefined; // a run deleted by gc or unreadable: the chain ends at what is known
  }
}
