import type { RunRecord, TaskRecord } from '../metadata/records.js';
import { runRecordPath } from '../metadata/records.js';
import type { SyncStore } from '../store/types.js';
import { objectIdsIn, objectIdsInBytes } from '../store/types.js';

/** Everything that makes up one run in a store: its records and the objects they reach. */
export interface RunContents {
  run: RunRecord;
  claim: unknown;
  /** Task records keyed by their path under `runs/<id>/tasks/` (`step/id.json`). */
  tasks: Record<string, TaskRecord>;
  /** Every object the run references, directly or through an artifact's binary parts. */
  objects: Set<string>;
}

/** Reads a run's records and the closure of objects they reference, from the local store. */
export async function runContents(store: SyncStore, id: string): Promise<RunContents | undefined> {
  const run = store.readRecordSync<RunRecord>(runRecordPath(id));
  if (!run) return undefined;
  const claim = store.readRecordSync<unknown>(`runs/${id}/claim.json`);
  const tasks: Record<string, TaskRecord> = {};
  for (const step of await store.listRecords(`runs/${id}/tasks`)) {
    for (const file of await store.listRecords(`runs/${id}/tasks/${step}`)) {
      if (!file.endsWith('.json')) continue;
      const rec = store.readRecordSync<TaskRecord>(`runs/${id}/tasks/${step}/${file}`);
      if (rec) tasks[`${step}/${file}`] = rec;
    }
  }
  return { run, claim, tasks, objects: await referencedObjects(store, run, Object.values(tasks)) };
}

/** The objects reachable from records: named ids, plus binary parts named inside artifacts. */
export async function referencedObjects(store: { hasObject(h: string): Promise<boolean>; getObject(h: string): Promise<Buffer> }, run: unknown, tasks: TaskRecord[]): Promise<Set<string>> {
  const objects = new Set<string>();
  const artifacts = new Set<string>();
  for (const id of objectIdsIn(JSON.stringify(run))) if (await store.hasObject(id)) objects.add(id);
  for (const t of tasks) {
    for (const ref of Object.values(t.artifacts ?? {})) artifacts.add(ref.hash);
    for (const id of objectIdsIn(JSON.stringify(t))) if (!objects.has(id) && (await store.hasObject(id))) objects.add(id);
  }
  // An artifact object is a small JSON document naming its large binary parts by id.
  for (const hash of artifacts) {
    if (!(await store.hasObject(hash))) continue;
    for (const id of objectIdsInBytes(await store.getObject(hash))) if (!objects.has(id) && (await store.hasObject(id))) objects.add(id);
  }
  return objects;
}
