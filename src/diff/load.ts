import type { Run } from '../client/client.js';
import { condaLockedPackages } from '../env/conda.js';
import { type LockedPackage, lockedPackages } from '../env/npm.js';
import type { ArtifactRef, ManifestEntry, TaskRecord } from '../metadata/records.js';
import { readPackageFiles } from '../package/code-package.js';
import type { SyncStore } from '../store/types.js';
import { loadArtifact } from '../task/artifacts.js';
import type { FlowGraph } from '../graph/types.js';
import type { ArtifactChange, RunDiff, RunView } from './diff.js';
import { type FieldChange, compareShapes, compareValues } from './values.js';

/**
 * Reads what diffRuns needs of a run: every task record and the code manifest; with `graph`,
 * also the flow's graph read from the run's own code package (what each step reads).
 */
export async function loadRunView(run: Run, opts: { graph?: boolean } = {}): Promise<RunView> {
  const tasks: Record<string, TaskRecord[]> = {};
  for (const step of run.steps()) tasks[step.name] = (await step.tasks()).map((t) => t.record);
  const manifest = run.record.code ? (JSON.parse(run.store.getObjectSync(run.record.code.manifest).toString('utf8')) as ManifestEntry[]) : undefined;
  const locks: Record<string, LockedPackage[]> = {};
  for (const env of [...Object.values(run.record.stepEnvs ?? {}), ...Object.values(run.record.condaEnvs ?? {})]) {
    // A lock missing from the store leaves its step's package changes unknown; fsck reports the object.
    try {
      locks[env.lock] ??= (env.kind === 'npm' ? lockedPackages : condaLockedPackages)(run.store.getObjectSync(env.lock));
    } catch {
      /* see above */
    }
  }
  const graph = opts.graph ? await packagedGraph(run) : undefined;
  return { record: run.record, tasks, manifest, locks, ...(graph ? { graph } : {}) };
}

/** The graph of the flow file in the run's code package (undefined when it cannot be read: the diff then assumes every step reads everything). */
async function packagedGraph(run: Run): Promise<FlowGraph | undefined> {
  if (!run.record.code) return undefined;
  try {
    const text = (await readPackageFiles(run.store.getObjectSync(run.record.code.hash), new Set([run.record.file]))).get(run.record.file);
    if (text === undefined) return undefined;
    const { extractGraph } = await import('../graph/extract.js');
    return extractGraph(run.record.file, text).graph;
  } catch {
    return undefined;
  }
}

/** Values up to this size (encoded) are read to show old → new, field by field. */
const DETAIL_MAX_BYTES = 64 * 1024;
/** Bigger values up to this size are read to compare their shapes; beyond it only sizes are shown. */
const SHAPE_MAX_BYTES = 16 * 1024 * 1024;

/** Adds old → new (small values, field by field) or the shapes (big ones) to artifact changes. */
export function describeChanges(diff: RunDiff, a: RunView, b: RunView, store: SyncStore, limit = 200): void {
  const sizeOf = (v: RunView, change: ArtifactChange, hash: string | undefined) => {
    const [step, id] = change.task.split('/') as [string, string];
    const ref = v.tasks[step]?.find((t) => t.id === id)?.artifacts[change.artifact];
    return ref && ref.hash === hash ? ref : undefined;
  };
  let n = 0;
  for (const s of diff.steps) {
    for (const c of s.artifacts) {
      if (c.kind !== 'changed' || n++ >= limit) continue;
      const ra = sizeOf(a, c, c.from);
      const rb = sizeOf(b, c, c.to);
      if (!ra || !rb) continue;
      const compared = describeValueChange(store, ra, rb);
      c.detail = compared.detail;
      if (compared.fields) c.fields = compared.fields;
    }
  }
}

/** How two stored values of an artifact differ: field by field when small, by shape when big, by size when huge. */
export function describeValueChange(store: SyncStore, from: ArtifactRef, to: ArtifactRef): { detail: string; fields?: FieldChange[] } {
  const big = Math.max(from.size, to.size);
  if (big > SHAPE_MAX_BYTES) return { detail: `${from.size} B → ${to.size} B` };
  const [x, y] = [loadArtifact(store, from), loadArtifact(store, to)];
  if (big > DETAIL_MAX_BYTES) return { detail: compareShapes(x, y, { from: from.size, to: to.size }) };
  const { detail, fields } = compareValues(x, y);
  return { detail, ...(fields ? { fields } : {}) };
}
