import { inspect } from 'node:util';
import { Parser, type ReadEntry } from 'tar';
import type { Run } from '../client/client.js';
import { condaLockedPackages } from '../env/conda.js';
import { type LockedPackage, lockedPackages } from '../env/npm.js';
import type { ManifestEntry, TaskRecord } from '../metadata/records.js';
import type { LocalStore } from '../store/local.js';
import { loadArtifact } from '../task/artifacts.js';
import type { ArtifactChange, RunDiff, RunView } from './diff.js';

/** Reads what diffRuns needs of a run: every task record and the code manifest. */
export async function loadRunView(run: Run): Promise<RunView> {
  const tasks: Record<string, TaskRecord[]> = {};
  for (const step of run.steps()) tasks[step.name] = (await step.tasks()).map((t) => t.record);
  const manifest = run.record.code ? (JSON.parse(run.store.getObjectSync(run.record.code.manifest).toString('utf8')) as ManifestEntry[]) : undefined;
  const locks: Record<string, LockedPackage[]> = {};
  for (const env of [...Object.values(run.record.stepEnvs ?? {}), ...Object.values(run.record.condaEnvs ?? {})]) {
    // A lock missing from the store leaves its step's package changes unknown; fsck reports the object.
    try { locks[env.lock] ??= (env.kind === 'npm' ? lockedPackages : condaLockedPackages)(run.store.getObjectSync(env.lock)); } catch { /* see above */ }
  }
  return { record: run.record, tasks, manifest, locks };
}

/** Values up to this size (encoded) are read to show old → new. */
const DETAIL_MAX_BYTES = 64 * 1024;

/** Adds old → new (small values) or a short structural summary to artifact changes. */
export function describeChanges(diff: RunDiff, a: RunView, b: RunView, store: LocalStore, limit = 200): void {
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
      if (ra.size > DETAIL_MAX_BYTES || rb.size > DETAIL_MAX_BYTES) { c.detail = `${ra.size} B → ${rb.size} B`; continue; }
      c.detail = `${summarize(loadArtifact(store, ra))} → ${summarize(loadArtifact(store, rb))}`;
    }
  }
}

/** A value in a few characters: scalars and short strings as they are, containers by shape. */
export function summarize(v: unknown): string {
  if (typeof v === 'string') return v.length <= 60 ? JSON.stringify(v) : `string(${v.length})`;
  if (typeof v !== 'object' || v === null) return inspect(v);
  if (Array.isArray(v)) return v.length <= 6 && v.every((x) => typeof x !== 'object' || x === null) ? inspect(v, { breakLength: Infinity }) : `array[${v.length}]`;
  if (v instanceof Map) return `Map(${v.size})`;
  if (v instanceof Set) return `Set(${v.size})`;
  if (v instanceof Date) return v.toISOString();
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength} B)`;
  const keys = Object.keys(v);
  return keys.length <= 4 ? inspect(v, { breakLength: Infinity, depth: 1 }) : `object{${keys.length} keys}`;
}

/** The text of some files inside a stored (uncompressed) code package. */
export async function readPackageFiles(tar: Buffer, paths: ReadonlySet<string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      onReadEntry: (entry: ReadEntry) => {
        if (!paths.has(entry.path)) { entry.resume(); return; }
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => out.set(entry.path, Buffer.concat(chunks).toString('utf8')));
      },
    });
    parser.on('end', () => resolve());
    parser.on('error', reject);
    parser.end(tar);
  });
  return out;
}
