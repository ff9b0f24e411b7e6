import { deleteLocalEntry } from '../cache/entries.js';
import { evictRemoteEntries } from '../cache/remote.js';
import { Run } from '../client/client.js';
import type { FlowConfig } from '../config/config.js';
import { ExitCode } from '../errors/index.js';
import type { CacheKeyRef, RunRecord } from '../metadata/records.js';
import { mirrorLocation, openMirror } from '../mirror/mirror.js';
import type { SyncStore } from '../store/types.js';
import type { RunEvents } from '../runtime/run-events.js';
import { replayRun } from './replay.js';
import type { ArtifactCheck } from './verify.js';

export interface CacheVerifyOutcome {
  schema: 'flowrun.cache-verify/1';
  run: string;
  /** The run that recomputed the cached tasks (absent when there were none). */
  verify?: RunRecord;
  /** The tasks RUN reused from the cache, with the task each came from. */
  cached: Array<{ task: string; cachedFrom: string }>;
  checks: ArtifactCheck[];
  /** Tasks whose recomputation differed: their entries were evicted (here, and on the mirror when there is one). */
  evicted: Array<{ task: string; cachedFrom: string }>;
  exitCode: number;
}

/**
 * `flow cache verify RUN`: recomputes the tasks RUN reused from the step cache (from RUN's code
 * package, params and seed, as a replay does; every other task of RUN is taken as it is) and
 * compares their artifacts with what RUN recorded. An entry whose recomputation differs is
 * evicted, so no later run reuses it. Exit 0 only when every cached task reproduced.
 */
export async function verifyCachedTasks(o: { config: FlowConfig; store: SyncStore; run: string; maxWorkers?: number; quiet: boolean; events?: RunEvents }): Promise<CacheVerifyOutcome> {
  const original = await Run.open(o.store, o.run);
  const cached: CacheVerifyOutcome['cached'] = [];
  const keys = new Map<string, CacheKeyRef>();
  for (const step of original.steps()) {
    for (const t of await step.tasks()) {
      if (t.status !== 'ok' || t.record.cachedFrom === undefined) continue;
      cached.push({ task: `${t.step}/${t.id}`, cachedFrom: t.record.cachedFrom });
      if (t.record.cache) keys.set(`${t.step}/${t.id}`, t.record.cache);
    }
  }
  const out: CacheVerifyOutcome = { schema: 'flowrun.cache-verify/1', run: original.id, cached, checks: [], evicted: [], exitCode: ExitCode.ok };
  if (cached.length === 0) return out;
  const replay = await replayRun({ ...o, paramArgv: [], cachedOnly: true });
  out.verify = replay.record;
  out.checks = replay.checks;
  const bad = new Set(replay.checks.filter((c) => c.status !== 'reproduced').map((c) => c.task));
  out.evicted = cached.filter((c) => bad.has(c.task));
  const doomed = out.evicted.map((c) => keys.get(c.task)).filter((k): k is CacheKeyRef => k !== undefined);
  for (const k of doomed) deleteLocalEntry(o.store, k.k1, k.k2);
  const mirror = mirrorLocation(o.config);
  if (mirror && doomed.length > 0) {
    try {
      await evictRemoteEntries(await openMirror(mirror), doomed);
    } catch (e) {
      o.events?.warning?.(`the diverged entries could not be evicted from the mirror: ${(e as Error).message} Run flow cache clear --remote --step <step>.`);
    }
  }
  out.exitCode = replay.exitCode === ExitCode.interrupted ? replay.exitCode : replay.record.verdict?.reproduced ? ExitCode.ok : ExitCode.runFailed;
  return out;
}

export function renderCacheVerify(v: CacheVerifyOutcome): string[] {
  if (!v.verify) return [`${v.run} reused no task from the step cache: nothing to verify.`];
  const origins = [...new Set(v.cached.map((c) => c.cachedFrom.split('/')[0]))].join(', ');
  const lines = [`${v.verify.id}: recomputed the ${v.cached.length} task(s) ${v.run} reused from the cache (computed in ${origins})`];
  const tasks = new Map<string, ArtifactCheck[]>();
  for (const c of v.checks) tasks.set(c.task, [...(tasks.get(c.task) ?? []), c]);
  for (const e of v.evicted) {
    const bad = (tasks.get(e.task) ?? []).filter((c) => c.status !== 'reproduced');
    lines.push(`  ≠ ${e.task} (from ${e.cachedFrom}): ${bad.map((c) => `${c.artifact} ${c.status}${c.got ? ` (expected ${c.expected.slice(0, 12)}, got ${c.got.slice(0, 12)})` : ''}`).join(', ')}; entry evicted`);
  }
  const ok = v.cached.length - v.evicted.length;
  lines.push(v.evicted.length === 0 ? `${v.run}: every cached task reproduced (${ok} of ${v.cached.length}, ${v.checks.length} artifacts)` : `${v.run}: ${v.evicted.length} of ${v.cached.length} cached task(s) did NOT reproduce; their entries were evicted`);
  return lines;
}
