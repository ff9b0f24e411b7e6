import { hostname } from 'node:os';
import { rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { StoreError } from '../errors/index.js';
import type { PrepareOutcome } from '../env/prepare.js';
import { type IncludeRecord, type RunRecord, runDir, runRecordPath } from '../metadata/records.js';
import { currentUser } from '../metadata/user.js';
import type { DiskStore } from '../store/types.js';
import { newRunSeed } from '../task/seed.js';
import { FLOWRUN_VERSION } from '../util/package-info.js';
import type { RunPlan } from './run-plan.js';
import type { SchedulerResult } from './scheduler.js';
import type { ProjectSnapshot } from './snapshot.js';

/** The record a run starts with (status running): what it runs, from which code, in which environments. */
export function startRecord(plan: RunPlan, id: string, started: Date, snapshot: ProjectSnapshot, envs: PrepareOutcome, includes: Record<string, IncludeRecord>): RunRecord {
  const { graph, config } = plan;
  const record: RunRecord = {
    schema: 'flowrun.run/1',
    id,
    flow: graph.flow,
    file: relative(config.projectRoot, plan.path),
    cwd: cwdInProject(config.projectRoot, plan.cwd ?? process.cwd()),
    status: 'running',
    params: plan.params,
    ...(Object.keys(includes).length ? { includes } : {}),
    seed: plan.seed ?? newRunSeed(),
    tags: plan.tags,
    user: plan.user ?? currentUser(),
    started: started.toISOString(),
    host: hostname(),
    pid: process.pid,
    flowrunVersion: FLOWRUN_VERSION,
    node: process.version,
    steps: graph.order.map((name) => ({ name, type: graph.steps.find((s) => s.name === name)!.type })),
    git: snapshot.git,
    code: snapshot.code,
    env: snapshot.env,
    envLocks: Object.fromEntries(graph.order.map((s) => [s, envs.envs.get(s)?.record.lock ?? envs.conda.get(s)?.record.lock ?? snapshot.env.lockfile?.hash ?? null])),
  };
  if (envs.envs.size > 0) record.stepEnvs = Object.fromEntries([...envs.envs].map(([s, e]) => [s, e.record]));
  if (envs.conda.size > 0) record.condaEnvs = Object.fromEntries([...envs.conda].map(([s, e]) => [s, e.record]));
  if (plan.replay) record.replayOf = plan.replay.of;
  if (plan.replay?.whatIf) record.whatIf = plan.replay.whatIf;
  if (plan.origin) record.origin = { run: plan.origin.run, step: plan.origin.step, reused: 0 };
  return record;
}

/** Writes the first record; when that fails nothing ran, so the claimed id goes too (no empty run directory stays behind). */
export function writeStartRecord(store: DiskStore, record: RunRecord): void {
  try {
    store.writeRecordSync(runRecordPath(record.id), record, true);
  } catch (e) {
    rmSync(join(store.root, runDir(record.id)), { recursive: true, force: true });
    throw e;
  }
}

/**
 * The run's store failed under it (a full disk): a run in which no task was recorded is removed
 * (no empty run directory, nothing to resume); otherwise its record says failed, if it can
 * still be written, and the error says how to continue it. Throws the store's error (exit 3).
 */
export function abandonRun(store: DiskStore, record: RunRecord, result: SchedulerResult): never {
  const e = result.fatal;
  if (!(e instanceof StoreError)) throw e;
  const remedy = e.code === 'STORE_DISK_FULL' ? 'Free space on that disk' : (e.fix ?? 'Fix the store').replace(/\.$/, '');
  const ran = Object.values(result.summary).some((s) => s.tasks > 0);
  if (!ran) {
    rmSync(join(store.root, runRecordPath(record.id)), { force: true });
    rmSync(join(store.root, runDir(record.id)), { recursive: true, force: true });
    throw new StoreError(e.code, `${e.message} ${record.id} stopped before any task was recorded, so it was removed.`, { file: e.location.file, fix: `${remedy}, then run the flow again.` });
  }
  try {
    store.writeRecordSync(runRecordPath(record.id), { ...record, status: 'failed', finished: new Date().toISOString(), summary: result.summary, error: { ...e.toJSON() } }, true);
  } catch {
    /* the disk is still full: the record stays "running", which readers show as interrupted */
  }
  throw new StoreError(e.code, `${e.message} ${record.id} stopped; the tasks recorded before it are kept.`, { file: e.location.file, fix: `${remedy}, then continue the run: flow resume ${record.file} --origin ${record.id}` });
}

/** The tasks' working directory relative to the project root ('.' when outside it). */
function cwdInProject(root: string, cwd: string): string {
  const rel = relative(root, cwd);
  return rel === '' || rel.startsWith('..') ? '.' : rel;
}
