import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { linkModules, lockedDependencies } from '../env/project-lock.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Run } from '../client/client.js';
import type { FlowConfig } from '../config/config.js';
import { compareRuns } from '../diff/compare.js';
import type { RunDiff, RunView } from '../diff/diff.js';
import { loadRunView } from '../diff/load.js';
import { ExitCode, StoreError, isFlowError } from '../errors/index.js';
import { assertGraph } from '../loader/analyze.js';
import type { DecoratorUse } from '../decorators/types.js';
import { analyzeFlow } from '../loader/analyze.js';
import { extractCodePackage } from '../package/code-package.js';
import type { RunRecord } from '../metadata/records.js';
import { runRecordPath } from '../metadata/records.js';
import { assertIncludesStored } from '../task/includes.js';
import { prepareRun } from '../plan/run-plan.js';
import { applyRun, type RunEvents } from '../runtime/run.js';
import { startWorkers } from '../runtime/workers.js';
import { environment } from '../runtime/snapshot.js';
import type { SyncStore } from '../store/types.js';
import { summaryMismatch } from '../metadata/record-check.js';
import { FLOWRUN_VERSION } from '../util/package-info.js';
import { type ArtifactCheck, verifyReplay } from './verify.js';
import { clonedSource } from './origin-records.js';

export interface ReplayOptions {
  config: FlowConfig;
  store: SyncStore;
  run: string;
  paramArgv: string[];
  maxWorkers?: number;
  /** --with decorators attached to every step (e.g. batch: replay on AWS Batch). */
  with?: DecoratorUse[];
  /** -q: task output is only stored, not followed. */
  quiet: boolean;
  /** The replay's own tags (the origin's are not copied: a replay is not the run it repeats). */
  tags?: string[];
  /** Who the replay is recorded as (default: FLOW_USER, else the OS account). */
  user?: string;
  /** What the replay says while it prepares and runs (src/cli/run-view.ts renders it). */
  events?: RunEvents;
  /**
   * flow cache verify: recompute only the tasks RUN reused from the step cache; every other task
   * of RUN is taken as it is. The checks then cover those tasks only.
   */
  cachedOnly?: boolean;
}

export interface ReplayOutcome {
  record: RunRecord;
  checks: ArtifactCheck[];
  /** What-if replays (params overridden) report a diff instead of a verdict. */
  diff?: RunDiff;
  exitCode: number;
}

/**
 * `flow replay RUN`: extracts RUN's code package to a temporary directory (the user's working
 * tree is never read or changed), runs it with RUN's params and seed into the same store, and
 * verifies every artifact hash of every task that succeeded in RUN. A replay of a failed run
 * replays everything and verifies what succeeded.
 */
export async function replayRun(o: ReplayOptions): Promise<ReplayOutcome> {
  const original = await Run.open(o.store, o.run);
  const rec = original.record;
  if (!rec.code) {
    throw new StoreError('REPLAY_SNAPSHOT_MISSING', `Run ${rec.id} has no code package (it was recorded by a flowrun without snapshots), so it cannot be replayed.`, { fix: 'Replay a run made by this flowrun version or later.' });
  }
  let tar: Buffer;
  try {
    tar = o.store.getObjectSync(rec.code.hash);
  } catch (e) {
    throw new StoreError('REPLAY_SNAPSHOT_MISSING', `The code package of ${rec.id} (object ${rec.code.hash}) is ${isFlowError(e) && e.code === 'STORE_MISSING_OBJECT' ? 'missing' : 'unreadable'} in ${o.store.location}.`, {
      fix: 'Run flow pull to fetch it from the mirror, or flow fsck to see what else is affected.',
      cause: e,
    });
  }
  // Read before anything runs: a gc (or anyone) deleting the origin meanwhile cannot empty the comparison.
  const originalView = await loadRunView(original);
  assertOriginComplete(rec, originalView);
  if (rec.flowrunVersion !== FLOWRUN_VERSION) o.events?.warning?.(`${rec.id} was recorded by flowrun ${rec.flowrunVersion}; this is ${FLOWRUN_VERSION}.`);
  if (rec.node !== process.version) o.events?.warning?.(`${rec.id} ran on Node ${rec.node}; this is ${process.version}.`);
  if (rec.status !== 'ok') o.events?.warning?.(`${rec.id} ${rec.status}: the replay runs the whole flow and verifies the tasks that succeeded.`);

  const dir = mkdtempSync(join(tmpdir(), `flowrun-replay-${rec.id}-`));
  try {
    extractCodePackage(tar, dir);
    mkdirSync(join(dir, rec.cwd ?? '.'), { recursive: true });
    await linkDependencies(o.config.projectRoot, dir, rec, (line) => o.events?.info?.(line));
    // The package being replayed already is what the original run kept: today's excludes do not apply to it.
    const config: FlowConfig = { ...o.config, projectRoot: dir, file: undefined, codePackage: { ...o.config.codePackage, exclude: undefined } };
    const analysis = await analyzeFlow(join(dir, rec.file), dir);
    const plan = prepareRun({
      config,
      graph: assertGraph(analysis),
      path: analysis.path,
      with: o.with,
      paramArgv: o.paramArgv,
      tags: o.tags,
      user: o.user,
      // A replay repeats the run whatever its fan-out.
      maxNumSplits: 1_000_000,
      replay: { origin: { record: rec, tasks: originalView.tasks }, cwd: join(dir, rec.cwd ?? '.'), cachedOnly: o.cachedOnly },
    });
    assertIncludesStored(rec.id, plan.includes ?? {}, o.store);
    const workers = startWorkers({ config, graph: plan.graph, maxWorkers: o.maxWorkers, cwd: plan.cwd, recordedEnvs: plan.recordedEnvs, quiet: o.quiet, cache: plan.cache });
    const outcome = await applyRun(plan, { workers, events: o.events });
    const whatIf = plan.replay?.whatIf !== undefined;
    const reuse = plan.reuse?.clone;
    const replay = outcome.record;
    if (whatIf) {
      const diff = await compareRuns(o.store, rec.id, replay.id);
      return { record: replay, checks: [], diff, exitCode: outcome.exitCode };
    }
    assertOriginUnchanged(o.store, rec, originalView, replay.id);
    const { checks, verdict } = verifyReplay(originalView, await loadRunView(await Run.open(o.store, replay.id)), reuse && ((task) => !reuse.has(task)));
    if (verdict.firstDivergence) {
      const source = clonedSource(o.store, originalView, verdict.firstDivergence.task);
      if (source) verdict.firstDivergence.clonedFrom = source;
    }
    replay.verdict = verdict;
    o.store.writeRecordSync(runRecordPath(replay.id), replay, true);
    const exitCode = outcome.exitCode === ExitCode.interrupted ? outcome.exitCode : verdict.reproduced ? ExitCode.ok : ExitCode.runFailed;
    return { record: replay, checks, exitCode };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const taskCount = (view: RunView) => Object.values(view.tasks).reduce((n, ts) => n + ts.length, 0);

/** A replay compares against the origin's task records: with some missing it could only prove less than it claims. */
function assertOriginComplete(rec: RunRecord, view: RunView): void {
  const tasks = Object.values(view.tasks).flat();
  const problem = summaryMismatch(rec, tasks) ?? (tasks.length === 0 ? `${rec.id} has no task records at all.` : undefined);
  if (!problem) return;
  throw new StoreError('REPLAY_ORIGIN_INCOMPLETE', `${problem} A replay of ${rec.id} would have nothing (or too little) to compare its artifacts with, so nothing was run.`, {
    file: runRecordPath(rec.id),
    fix: `Restore ${rec.id}'s task records (flow pull from the mirror, or a copy of the store); flow fsck lists what is missing.`,
  });
}

/** The origin must still be the run read at the start (a gc or a hand deleting it makes the verdict meaningless). */
function assertOriginUnchanged(store: SyncStore, rec: RunRecord, view: RunView, replay: string): void {
  const now = store.readRecordSync<RunRecord>(runRecordPath(rec.id));
  let tasks = 0;
  for (const { name } of rec.steps) tasks += store.listRecordsSync(`runs/${rec.id}/tasks/${name}`).filter((f) => f.endsWith('.json')).length;
  if (now && now.started === rec.started && now.host === rec.host && tasks === taskCount(view)) return;
  throw new StoreError('REPLAY_ORIGIN_DELETED', `${rec.id} was ${now ? 'changed' : 'deleted'} while ${replay} replayed it (${tasks} of its ${taskCount(view)} task records are left), so the replay is not compared with it.`, {
    file: runRecordPath(rec.id),
    fix: `Keep ${rec.id} while it is replayed (flow gc --keep ${rec.id}); ${replay} is in the store and flow diff can compare it with another run.`,
  });
}

/**
 * Gives the extracted code the packages its run used: the project's own node_modules when its
 * lock file is still the recorded one, else the recorded lock installed once (npm ci, pnpm or yarn) into a
 * cache keyed by its hash. The extracted tree gets its own node_modules directory of links, so
 * caches written during the replay never land in the user's tree.
 */
async function linkDependencies(projectRoot: string, dir: string, rec: RunRecord, info: (l: string) => void): Promise<void> {
  const current = environment(projectRoot).lockfile?.hash ?? null;
  const recorded = rec.env?.lockfile ?? null;
  if (recorded && current !== recorded.hash) {
    linkModules(await lockedDependencies(dir, recorded.hash, info, recorded.name), dir);
    return;
  }
  linkModules(join(projectRoot, 'node_modules'), dir);
}
