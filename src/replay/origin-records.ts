import type { RunView } from '../diff/diff.js';
import { type ClonedSource, type RunRecord, type TaskRecord, runRecordPath, taskRecordPath } from '../metadata/records.js';
import type { SyncStore } from '../store/types.js';
import { isSeedHex, seedHex, taskSeed } from '../task/seed.js';

/**
 * The Math.random seeds a replay's tasks start from: each task's first attempt repeats the seed
 * the origin's last attempt recorded (the one that produced the artifacts being verified, even
 * when it was a retry); a retry of the replay goes on from there. Tasks recorded before seeds
 * were recorded per attempt derive theirs as the origin did.
 */
export function recordedSeeds(origin: RunView): (step: string, id: string, attempt: number) => string | undefined {
  const last = new Map<string, { attempt: number; seed: string }>();
  for (const tasks of Object.values(origin.tasks)) {
    for (const t of tasks) {
      const a = t.attempts.at(-1);
      if (a && isSeedHex(a.seed)) last.set(`${t.step}/${t.id}`, { attempt: a.attempt, seed: a.seed });
    }
  }
  return (step, id, attempt) => {
    const rec = last.get(`${step}/${id}`);
    if (!rec) return undefined;
    return attempt === 0 ? rec.seed : seedHex(taskSeed(origin.record.seed, step, id, rec.attempt + attempt));
  };
}

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
