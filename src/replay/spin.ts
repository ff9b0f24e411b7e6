import { delimiter, join } from 'node:path';
import { Run, type Task } from '../client/client.js';
import { type FlowConfig, localStoreDir } from '../config/config.js';
import { stepSettings } from '../decorators/settings.js';
import { describeValueChange } from '../diff/load.js';
import { NotFoundError, UsageError } from '../errors/index.js';
import { npmPackageNames, prepareEnvironments } from '../env/prepare.js';
import { analyzeFlow, assertGraph } from '../loader/analyze.js';
import { compileFlow } from '../loader/compile.js';
import type { ArtifactRef, TaskRecord } from '../metadata/records.js';
import { type SpinArtifactCheck, type SpinRecord, spinRecordPath } from '../metadata/spin-records.js';
import { WorkerPool } from '../runtime/pool.js';
import { storeAttemptLogs } from '../runtime/task-logs.js';
import type { DiskStore } from '../store/types.js';
import type { TaskJob } from '../task/protocol.js';
import { own } from '../util/own.js';

export interface SpinOptions {
  config: FlowConfig;
  store: DiskStore;
  /** RUN/STEP or RUN/STEP/TASK. */
  target: string;
  /** Start the task under the Node inspector and pause before the step (--inspect-brk). */
  inspect?: { host: string; port: number };
  info: (line: string) => void;
  onStart?: (spin: SpinRecord) => void;
  /** The task's output as it arrives. */
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
  onInspector?: (url: string) => void;
}

/**
 * `flow spin RUN/STEP[/TASK]`: reruns one task of a past run with the current code of its flow
 * file, on the inputs the run recorded for it (its parents' artifacts, the params, included
 * files and seed), then compares every artifact with the recorded task's. The run is never
 * changed: the spin's record lives under spins/, its objects are ordinary store objects (gc
 * collects them once no run refers to them).
 */
export async function spinTask(o: SpinOptions): Promise<SpinRecord> {
  const { run, task } = await findTask(o.store, o.target);
  const rec = run.record;
  const path = join(o.config.projectRoot, rec.file);
  const graph = assertGraph(await analyzeFlow(path, o.config.projectRoot));
  const node = graph.steps.find((s) => s.name === task.step);
  if (!node) {
    throw new UsageError('SPIN_STEP_NOT_FOUND', `Step ${task.step} of ${rec.id} is not a step of ${rec.file} any more.`, { file: rec.file, step: task.step, fix: `Steps of the current code: ${graph.order.join(', ')}.` });
  }
  const parents = task.record.parents.map((p) => readParent(run, p));
  const compiled = await compileFlow(path, o.config.projectRoot, npmPackageNames(graph));
  const envs = await prepareEnvironments({ graph: { ...graph, order: [node.name] }, store: o.store, projectRoot: o.config.projectRoot, conda: rec.condaEnvs !== undefined, info: o.info });
  const id = await allocateSpinId(o.store);
  const spin: SpinRecord = {
    schema: 'flowrun.spin/1',
    id,
    of: { run: rec.id, step: task.step, task: task.id },
    flow: rec.flow,
    file: rec.file,
    status: 'running',
    started: new Date().toISOString(),
    seed: rec.seed,
  };
  o.store.writeRecordSync(spinRecordPath(id), spin, true);
  o.onStart?.(spin);
  const settings = stepSettings(node.decorators);
  const conda = envs.conda.get(node.name);
  const job: TaskJob = {
    run: id,
    flow: rec.flow,
    step: task.step,
    taskId: task.id,
    // The recorded attempt's number: a seed that depends on it draws what that attempt drew.
    attempt: task.record.attempts.at(-1)?.attempt ?? 0,
    modulePath: compiled.modulePath,
    storeRoot: o.store.root,
    params: rec.params,
    seed: rec.seed,
    ...(rec.includes && Object.keys(rec.includes).length ? { includes: rec.includes } : {}),
    inherited: node.type === 'join' ? {} : (parents[0]?.artifacts ?? {}),
    maxNumSplits: 1_000_000,
    env: { ...(conda?.prefix ? { CONDA_PREFIX: conda.prefix, PATH: `${conda.prefix}/bin${delimiter}${process.env.PATH ?? ''}` } : {}), ...settings.env },
    ...(o.inspect ? { inspect: o.inspect } : {}),
  };
  if (node.type === 'join') job.inputs = parents.map((p) => ({ task: `${p.step}/${p.id}`, artifacts: p.artifacts }));
  const split = foreachInput(task.record, parents);
  if (split) job.foreach = split;
  if (node.foreach !== undefined) job.splitField = node.foreach;
  const npm = envs.envs.get(node.name);
  if (npm) job.npm = { modules: npm.modules, names: npm.names };
  return finish(o, spin, task.record, await runOne(o, job, settings, rec.cwd));
}

/** The task a target names; a step with several tasks needs its task id. */
async function findTask(store: DiskStore, target: string): Promise<{ run: Run; task: Task }> {
  const [runId, step, taskId, ...rest] = target.split('/');
  if (!runId || !step || rest.length > 0) {
    throw new UsageError('SPIN_TARGET', `${JSON.stringify(target)} does not name a task: flow spin takes RUN/STEP or RUN/STEP/TASK.`, { fix: 'For example: flow spin run-4/fit/3 (flow inspect run-4 lists the tasks).' });
  }
  const run = await Run.open(store, runId);
  const s = run.step(step);
  if (taskId !== undefined) return { run, task: s.task(taskId) };
  const tasks = await s.tasks();
  if (tasks.length === 1) return { run, task: tasks[0]! };
  const ids = tasks.map((t) => t.id);
  throw new UsageError('SPIN_TASK_REQUIRED', tasks.length === 0 ? `Step ${step} of ${run.id} has no task to rerun (it never ran).` : `Step ${step} of ${run.id} has ${tasks.length} tasks (${ids.slice(0, 8).join(', ')}${ids.length > 8 ? ', …' : ''}): say which one to rerun.`, {
    step,
    fix: tasks.length === 0 ? `Spin a step that ran: flow inspect ${run.id}.` : `For example: flow spin ${run.id}/${step}/${ids[0]}.`,
  });
}

function readParent(run: Run, pathspec: string): TaskRecord {
  const [step, id] = pathspec.split('/') as [string, string];
  try {
    return run.step(step).task(id).record;
  } catch (e) {
    throw new NotFoundError('SPIN_INPUT_MISSING', `${run.id} has no record of ${pathspec}, whose artifacts the task read, so it cannot be rerun on its inputs.`, { step, fix: `Restore ${run.id}'s task records (flow pull, or flow fsck to see what is missing).`, cause: e });
  }
}

/** A task inside a foreach: its item is the parent's split artifact at the task's index. */
function foreachInput(task: TaskRecord, parents: TaskRecord[]): TaskJob['foreach'] | undefined {
  const frame = task.stack.at(-1);
  const parent = parents[0];
  const field = parent?.next?.foreach;
  if (!frame || !parent || field === undefined || frame.step !== parent.step) return undefined;
  const artifact = own(parent.artifacts, field);
  return artifact ? { artifact, index: frame.index } : undefined;
}

async function runOne(o: SpinOptions, job: TaskJob, settings: ReturnType<typeof stepSettings>, cwd: string | undefined) {
  const pool = new WorkerPool({
    size: 1,
    cwd: join(o.config.projectRoot, cwd ?? '.'),
    spoolDir: join(localStoreDir(o.config), 'tmp'),
    moduleHooks: job.npm !== undefined,
    onOutput: o.onOutput ? (_job, stream, text) => o.onOutput!(stream, text) : undefined,
    onInspector: (_job, url) => o.onInspector?.(url),
  });
  const started = new Date();
  let timer: NodeJS.Timeout | undefined;
  // A task paused in a debugger is not running late: @timeout applies only without --inspect-brk.
  const onStart =
    settings.timeoutMs && !job.inspect
      ? () => {
          timer = setTimeout(() => pool.abort(job, 'timeout'), settings.timeoutMs);
        }
      : undefined;
  const stop = () => pool.abort(job, 'interrupt');
  process.once('SIGINT', stop);
  try {
    const outcome = await pool.run(job, settings.heapMB, onStart);
    const stack = outcome.result.ok ? undefined : (outcome.result.error as { stack?: string }).stack;
    const logs = await storeAttemptLogs(o.store, outcome.logs, stack);
    return { outcome, logs, started, finished: new Date(), attempt: job.attempt };
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', stop);
    pool.close();
  }
}

function finish(o: SpinOptions, spin: SpinRecord, recorded: TaskRecord, r: Awaited<ReturnType<typeof runOne>>): SpinRecord {
  const { outcome, logs, started, finished } = r;
  const ok = outcome.result.ok;
  spin.status = ok ? 'ok' : 'failed';
  spin.finished = finished.toISOString();
  spin.attempt = { attempt: r.attempt, started: started.toISOString(), finished: spin.finished, durationMs: finished.getTime() - started.getTime(), status: spin.status, logs };
  if (outcome.result.ok) {
    spin.artifacts = outcome.result.artifacts;
    if (outcome.result.next) spin.next = { ...outcome.result.next, ...(outcome.result.count !== undefined ? { count: outcome.result.count } : {}) };
    spin.checks = compareArtifacts(o.store, recorded.artifacts, outcome.result.artifacts);
  } else {
    const { stack: _stack, ...error } = outcome.result.error;
    spin.error = error;
    spin.attempt.error = error;
  }
  o.store.writeRecordSync(spinRecordPath(spin.id), spin, true);
  return spin;
}

/** Every artifact of the spun task against the recorded one, names sorted; values described when they changed. */
export function compareArtifacts(store: DiskStore, recorded: Record<string, ArtifactRef>, spun: Record<string, ArtifactRef>): SpinArtifactCheck[] {
  const names = [...new Set([...Object.keys(recorded), ...Object.keys(spun)])].sort();
  return names.map((artifact) => {
    const [from, to] = [own(recorded, artifact), own(spun, artifact)];
    const status = !from ? 'added' : !to ? 'removed' : from.hash === to.hash ? 'same' : 'changed';
    const check: SpinArtifactCheck = { artifact, status, ...(from ? { from: from.hash } : {}), ...(to ? { to: to.hash } : {}) };
    if (status === 'changed') {
      // A value that can no longer be read (a corrupt object) leaves the change undescribed, not the spin failed.
      try {
        check.detail = describeValueChange(store, from!, to!).detail;
      } catch {
        /* see above */
      }
    }
    return check;
  });
}

/** Claims the next free spin-N in the store (create-if-absent, as run ids are claimed). */
async function allocateSpinId(store: DiskStore): Promise<string> {
  let n = 0;
  for (const name of await store.listRecords('spins')) {
    const m = /^spin-(\d+)$/.exec(name);
    if (m) n = Math.max(n, Number(m[1]));
  }
  for (n++; ; n++) {
    if (await store.createRecord(`spins/spin-${n}/claim.json`, { pid: process.pid, started: new Date().toISOString() })) return `spin-${n}`;
  }
}
