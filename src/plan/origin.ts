import { UsageError } from '../errors/index.js';
import type { RunRecord, TaskRecord } from '../metadata/records.js';
import { selectRuns } from '../metadata/run-query.js';
import { userNamespace } from '../metadata/user.js';
import { isSeedHex, seedHex, taskSeed } from '../task/seed.js';

/** A past run as a plan reads it: its record and its task records by step. */
export interface OriginRecords {
  record: RunRecord;
  tasks: Readonly<Record<string, readonly TaskRecord[]>>;
}

/**
 * The run `flow resume` continues when none is named: the flow's latest failed or interrupted
 * run that no run has resumed yet (a second `flow resume` after a successful one does not redo
 * it), among the user's own runs; replays are never resumed.
 */
export function defaultOrigin(all: RunRecord[], flow: string, user: string, file: string): string {
  const runs = selectRuns(all, { flow, namespace: userNamespace(user), kinds: ['run', 'resume'] });
  const resumed = new Set(all.flatMap((r) => (r.origin ? [r.origin.run] : [])));
  const origin = runs.find((r) => (r.status === 'failed' || r.status === 'interrupted') && !resumed.has(r.id));
  if (origin) return origin.id;
  const latest = runs[0];
  const lastFailed = runs.find((r) => r.status === 'failed' || r.status === 'interrupted');
  const by = lastFailed && all.find((r) => r.origin?.run === lastFailed.id);
  const state = !latest ? '' : by ? `the latest failed one, ${lastFailed!.id}, was resumed by ${by.id} (${by.status})` : `the latest, ${latest.id}, is ${latest.status}`;
  throw new UsageError('RESUME_NOTHING', latest ? `There is no failed or interrupted run of ${flow} left to resume: ${state}.` : `There is no run of ${flow} by ${user} to resume.`, {
    file,
    fix: latest ? `Name the run (and the step to rerun from): flow resume ${file} --origin ${latest.id} --step <step>.` : `Start one with flow run ${file}.`,
  });
}

/**
 * The Math.random seeds a replay's tasks start from: each task's first attempt repeats the seed
 * the origin's last attempt recorded (the one that produced the artifacts being verified, even
 * when it was a retry); a retry of the replay goes on from there. Tasks recorded before seeds
 * were recorded per attempt derive theirs as the origin did.
 */
export function recordedSeeds(origin: OriginRecords): (step: string, id: string, attempt: number) => string | undefined {
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

/** The tasks of a run that did not come from the step cache, by `step/id` (flow cache verify takes them as they are). */
export function uncachedTasks(origin: OriginRecords): Map<string, TaskRecord> {
  const out = new Map<string, TaskRecord>();
  for (const tasks of Object.values(origin.tasks)) for (const t of tasks) if (t.status === 'ok' && t.cachedFrom === undefined) out.set(`${t.step}/${t.id}`, t);
  return out;
}
