import type { TaskRecord } from '../metadata/records.js';

/**
 * Where each artifact of a task comes from: `null` when the task set it (a new name, or a new
 * value), else the `step/id` of the parent it carried it over from unchanged (same hash; a
 * join's merged artifacts too). Pure over the records.
 */
export function artifactSources(task: TaskRecord, parents: readonly TaskRecord[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [name, ref] of Object.entries(task.artifacts)) {
    const from = parents.find((p) => Object.hasOwn(p.artifacts, name) && p.artifacts[name]!.hash === ref.hash);
    out[name] = from ? `${from.step}/${from.id}` : null;
  }
  return out;
}
