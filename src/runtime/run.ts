import { hostname } from 'node:os';
import { delimiter } from 'node:path';
import { localStoreDir } from '../config/config.js';
import { ExitCode } from '../errors/index.js';
import { npmPackageNames } from '../env/npm-names.js';
import type { PrepareOutcome } from '../env/prepare.js';
import { matchSpecs } from '../env/conda/matchspec.js';
import { type CompiledFlow, compileFlow } from '../loader/compile.js';
import { openLocalStore } from '../store/open.js';
import type { DiskStore } from '../store/types.js';
import type { S3Store } from '../store/s3.js';
import { autoPushEnabled, mirrorLocation, openMirror } from '../mirror/mirror.js';
import { captureIncludes } from '../task/includes.js';
import { LocalBackend, type TaskBackend } from './backend.js';
import { type PreparedBackend, prepareBackends, type RunEnvironments } from './backends.js';
import { type IncludeRecord, type RunRecord, runRecordPath } from '../metadata/records.js';
import { type ProjectSnapshot, snapshotProject } from './snapshot.js';
import { LiveRun } from './live.js';
import { withLiveness } from '../metadata/liveness.js';
import { allocateRunId } from './run-id.js';
import { Scheduler, type SchedulerResult } from './scheduler.js';
import { cacheRecord, openStepCache, pushCacheAfterRun } from '../cache/open.js';
import type { StepCache } from '../cache/step-cache.js';
import { declaresEnvironment } from '../decorators/hooks.js';
import { codeChangeWarning } from './code-change.js';
import type { RunEvents } from './run-events.js';
import type { RunPlan } from './run-plan.js';
import { abandonRun, startRecord, writeStartRecord } from './run-record.js';
import type { RunWorkers } from './workers.js';
import { traceMark } from '../util/trace.js';

export type { RunEvents, RunPlan };

export interface RunOutcome {
  record: RunRecord;
  exitCode: number;
}

/** What a run is made of once its inputs are prepared, before its id exists. */
interface Prepared {
  store: DiskStore;
  remote: S3Store | undefined;
  compiled: CompiledFlow;
  snapshot: ProjectSnapshot;
  envs: PrepareOutcome;
  includes: Record<string, IncludeRecord>;
}

/**
 * Carries out a run plan (src/plan/run-plan.ts): prepare what the run needs (compiled flow, code
 * package, environments, remote backends) before a run id exists, so that a problem there leaves
 * nothing behind; allocate the id and write the record; run the DAG on the workers (started
 * earlier by the caller, closed here); write the final record; push to the mirror. Tells `events`
 * what happens and prints nothing. Ctrl-C stops the tasks and records the run as interrupted
 * (exit 130); a task failure fails the run (exit 1) after running tasks finish.
 */
export async function applyRun(plan: RunPlan, o: { workers: RunWorkers; events?: RunEvents }): Promise<RunOutcome> {
  const events = o.events ?? {};
  try {
    // Remote backends (@batch) check their settings, stores and queues before a run id exists.
    const remotes = await prepareBackends(plan.config, plan.graph);
    traceMark('backends prepared');
    try {
      const prepared = await prepareInputs(plan, remotes, events);
      const { record, started } = await openRun(plan, prepared, events);
      const result = await runTasks(plan, prepared, record, remotes, o.workers, events);
      return await closeRun(plan, prepared, record, started, result, events);
    } finally {
      for (const r of remotes) r.close();
    }
  } finally {
    o.workers.pool.close();
  }
}

/** Compiles the flow, snapshots the project and makes the environments, all side by side; reads the inputs. */
async function prepareInputs(plan: RunPlan, remotes: PreparedBackend[], events: RunEvents): Promise<Prepared> {
  const store = openLocalStore(localStoreDir(plan.config));
  const mirror = mirrorLocation(plan.config);
  const info = (line: string) => events.info?.(line);
  // Environments are resolved and installed before a run id exists: a spec that cannot be met fails fast.
  const [compiled, snapshot, remote, envs] = await Promise.all([
    compileFlow(plan.path, plan.config.projectRoot, npmPackageNames(plan.graph)).then((c) => {
      traceMark('compiled');
      return c;
    }),
    snapshotProject(store, plan.config, plan.replay ? { git: plan.replay.git } : {}).then((c) => {
      traceMark('snapshot');
      return c;
    }),
    mirror ? openMirror(mirror) : undefined,
    prepareEnvs(plan, store, remotes, info),
  ]);
  // Batch steps' environments are made for the containers (tarballs, conda archives in S3) before a run id exists.
  const runEnvs: RunEnvironments = {
    projectRoot: plan.config.projectRoot,
    project: snapshot.env.lockfile,
    npm: new Map([...envs.envs].map(([s, e]) => [s, { lock: e.record.lock, names: e.names }])),
    conda: new Map([...envs.conda].map(([s, e]) => [s, { lock: e.record.lock, specs: matchSpecs(e.record.spec) }])),
  };
  for (const r of remotes) await r.prepareEnvironments(runEnvs, store, info);
  if (plan.origin?.code) snapshot.warnings.push(...codeChangeWarning(store, plan.origin, snapshot.code, snapshot.git));
  for (const w of snapshot.warnings) events.warning?.(w);
  // Read before a run id is allocated: a missing input file is a usage error, not a failed run.
  const includes = captureIncludes(plan.graph, plan.params, process.cwd(), store, plan.includes);
  return { store, remote, compiled, snapshot, envs, includes };
}

/** Allocates the run id (claimed on the mirror first, so two machines never hand out the same one) and writes the first record. */
async function openRun(plan: RunPlan, p: Prepared, events: RunEvents): Promise<{ record: RunRecord; started: Date }> {
  const started = new Date();
  await p.remote?.assertConditionalWrites();
  const id = await allocateRunId(p.remote ? [p.remote, p.store] : p.store, { host: hostname(), pid: process.pid, started: started.toISOString() });
  traceMark('id allocated');
  const record = startRecord(plan, id, started, p.snapshot, p.envs, p.includes);
  writeStartRecord(p.store, record);
  const watching = events.started?.(record, plan.graph);
  traceMark('record written');
  await watching;
  return { record, started };
}

/** Runs the DAG: local steps on the workers, the others on their backends; the step cache around every task. */
async function runTasks(plan: RunPlan, p: Prepared, record: RunRecord, remotes: PreparedBackend[], workers: RunWorkers, events: RunEvents): Promise<{ result: SchedulerResult; stepCache: StepCache | undefined }> {
  const { store, envs } = p;
  const id = record.id;
  // What `flow ui` shows of the run before its task records exist: attempts in progress and their output so far.
  const liveRun = new LiveRun(store, id, (run) => {
    const r = store.readRecordSync<RunRecord>(runRecordPath(run));
    return !r || withLiveness(r).status !== 'running';
  });
  workers.setOutput({
    output: (job, stream, text) => {
      events.output?.(job, stream, text);
      liveRun.output(job.step, job.taskId, job.attempt, stream, text);
    },
  });
  const local = new LocalBackend(workers.pool, workers.size);
  const attached = remotes.map((r) => ({
    steps: r.steps,
    backend: r.backend({
      run: id,
      flow: plan.graph.flow,
      local: store,
      info: (line) => events.info?.(`${id}: ${line}`),
      code: { hash: p.snapshot.code.hash, file: record.file, cwd: record.cwd ?? '.' },
      path: plan.path,
      projectRoot: plan.config.projectRoot,
      envPackages: npmPackageNames(plan.graph),
    }),
  }));
  const backendFor = (step: string): TaskBackend => attached.find((a) => a.steps.has(step))?.backend ?? local;
  let scheduler: Scheduler | undefined;
  const onSignal = () => {
    events.info?.(`${id}: interrupted; stopping tasks...`);
    scheduler?.interrupt();
  };
  // From here on the table, the live view and the backends are closed however the run ends
  // (also when the step cache or the scheduler cannot be made: the error then says why).
  try {
    const stepCache = await openStepCache({
      graph: plan.graph,
      path: plan.path,
      projectRoot: plan.config.projectRoot,
      compiled: p.compiled,
      store,
      run: record,
      includes: p.includes,
      flag: plan.cache,
      byDefault: plan.config.cache?.default,
      ...(p.remote ? { mirror: p.remote } : {}),
      warn: (line) => events.warning?.(`${id}: ${line}`),
    });
    const { origin, reuse } = plan;
    scheduler = new Scheduler({
      graph: plan.graph,
      run: id,
      store,
      backendFor,
      modulePath: p.compiled.modulePath,
      params: plan.params,
      includes: p.includes,
      seed: record.seed,
      seedFor: plan.seedFor,
      context: { tags: record.tags, user: record.user!, ...(record.origin ? { origin: record.origin.run } : {}), ...(record.replayOf ? { replayOf: record.replayOf, whatIf: record.whatIf !== undefined } : {}) },
      maxNumSplits: plan.maxNumSplits,
      cloneFrom: origin ? (step, task) => origin.reuse.get(`${step}/${task}`) : reuse && ((step, task) => reuse.clone.get(`${step}/${task}`)),
      cloneAlways: reuse !== undefined,
      handOn: reuse && ((step, task) => reuse.handOn.get(`${step}/${task}`)),
      hooks: stepCache,
      npmEnvs: new Map([...envs.envs].map(([s, e]) => [s, { modules: e.modules, names: e.names }])),
      // A conda step runs with the prefix's bin first on PATH and CONDA_PREFIX set, so it can call the env's tools.
      // (A Batch step's container sets its own: nothing of this machine travels.)
      envVars: new Map([...envs.conda].filter(([s]) => !remotes.some((r) => r.steps.has(s))).map(([s, e]) => [s, { CONDA_PREFIX: e.prefix, PATH: `${e.prefix}/bin${delimiter}${process.env.PATH ?? ''}` }])),
      events: {
        taskStarted: (spec, attempt) => {
          events.taskStarted?.(spec, attempt);
          liveRun.taskStarted(spec.step, spec.id, attempt);
        },
        taskFinished: (spec, rec) => {
          if (rec.clonedFrom && record.origin) record.origin.reused!++;
          events.taskFinished?.(spec, rec);
          liveRun.taskFinished(spec.step, spec.id);
        },
        retrying: (spec, attempt, message) => events.retrying?.(spec, attempt, message),
      },
    });
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    traceMark('scheduler start');
    const result = await scheduler.execute();
    traceMark('scheduler done');
    return { result, stepCache };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    events.tasksEnded?.();
    for (const a of attached) a.backend.close?.();
    liveRun.close();
  }
}

/** Writes the final record, pushes the run to the mirror (when configured to) and says how the run exits. */
async function closeRun(plan: RunPlan, p: Prepared, record: RunRecord, started: Date, { result, stepCache }: { result: SchedulerResult; stepCache: StepCache | undefined }, events: RunEvents): Promise<RunOutcome> {
  const { store, remote } = p;
  if (result.fatal !== undefined) abandonRun(store, record, result);
  const finished = new Date();
  record.status = result.status;
  record.finished = finished.toISOString();
  record.durationMs = finished.getTime() - started.getTime();
  record.summary = result.summary;
  if (stepCache) record.cache = cacheRecord(stepCache);
  if (result.failure) record.error = result.failure;
  store.writeRecordSync(runRecordPath(record.id), record, true);
  events.finished?.(record);
  traceMark('final record');
  if (remote && autoPushEnabled(plan.config)) {
    const say = (line: string) => events.pushed?.(line);
    const pushed = await (await import('../mirror/push.js')).pushAfterRun(store, remote, record.id, say);
    if (pushed && stepCache) await pushCacheAfterRun(store, remote, record.id, say);
  }
  return { record, exitCode: runExitCode(result) };
}

/**
 * 0 ok, 130 interrupted, 1 failed; except that a task that never ran because its infrastructure
 * failed (a Batch job without its bundle, its S3 access or a usable image) exits with that
 * error's code (3 or 4), not "run failed".
 */
function runExitCode(result: SchedulerResult): number {
  if (result.status === 'ok') return ExitCode.ok;
  if (result.status === 'interrupted') return ExitCode.interrupted;
  const failure = result.failure;
  const infra = (failure?.data as { infrastructure?: boolean } | undefined)?.infrastructure && (failure!.exitCode === ExitCode.storeIntegrity || failure!.exitCode === ExitCode.remote);
  return infra ? failure!.exitCode : ExitCode.runFailed;
}

/**
 * The run's @npm/@conda environments. The environment machinery (npm, the conda solver and
 * installer, semver, tar) is loaded only for a flow that has some: most runs have none.
 */
async function prepareEnvs(plan: RunPlan, store: DiskStore, remotes: PreparedBackend[], info: (line: string) => void): Promise<PrepareOutcome> {
  const declared = declaresEnvironment([...plan.graph.decorators, ...plan.graph.steps.flatMap((s) => s.decorators)]);
  const recorded = Object.keys(plan.recordedEnvs ?? {}).length > 0 || Object.keys(plan.recordedConda ?? {}).length > 0;
  if (!declared && !recorded) return { envs: new Map(), conda: new Map(), installed: 0 };
  const { prepareEnvironments } = await import('../env/prepare.js');
  return prepareEnvironments({ graph: plan.graph, store, projectRoot: plan.config.projectRoot, recorded: plan.recordedEnvs, recordedConda: plan.recordedConda, conda: plan.environment === 'conda', refresh: plan.refreshEnvs, remoteSteps: remoteStepsOf(remotes), info });
}

/** Steps whose environments are solved for a remote backend's machines, not this one. */
function remoteStepsOf(remotes: PreparedBackend[]): ReadonlyMap<string, { gpu: boolean }> {
  return new Map(remotes.flatMap((r) => [...r.remoteSteps]));
}
