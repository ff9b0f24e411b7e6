import { hostname } from 'node:os';
import { rmSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import { type FlowConfig, localStoreDir } from '../config/config.js';
import type { Literal } from '../decorators/types.js';
import { ExitCode, StoreError } from '../errors/index.js';
import type { FlowGraph } from '../graph/types.js';
import { npmPackageNames } from '../env/npm-names.js';
import type { PrepareOutcome } from '../env/prepare.js';
import { matchSpecs } from '../env/conda/matchspec.js';
import { compileFlow } from '../loader/compile.js';
import { openLocalStore } from '../store/open.js';
import type { DiskStore } from '../store/types.js';
import { autoPushEnabled, mirrorLocation, openMirror } from '../mirror/mirror.js';
import { FLOWRUN_VERSION } from '../util/package-info.js';
import type { WorkerPool } from './pool.js';
import { captureIncludes } from '../task/includes.js';
import { LocalBackend, type TaskBackend } from './backend.js';
import { type PreparedBackend, prepareBackends, type RunEnvironments } from './backends.js';
import { type CodeRecord, type CondaEnvRecord, type GitRecord, type IncludeRecord, type RunRecord, type StepEnvRecord, type TaskRecord, runDir, runRecordPath } from '../metadata/records.js';
import { snapshotProject } from './snapshot.js';
import { PlainReporter, TtyReporter } from './reporter.js';
import { LiveRun } from './live.js';
import { withLiveness } from '../metadata/liveness.js';
import { allocateRunId } from './run-id.js';
import { Scheduler, type SchedulerResult } from './scheduler.js';
import { newRunSeed } from '../task/seed.js';
import { cacheRecord, openStepCache, pushCacheAfterRun } from '../cache/open.js';
import { stepSettings } from '../decorators/settings.js';
import { declaresEnvironment } from '../decorators/hooks.js';
import { currentUser } from '../metadata/user.js';
import { codeChangeWarning } from './code-change.js';
import { type OutputSink, type RunWorkers, startWorkers } from './workers.js';
import { traceMark } from '../util/trace.js';

export interface RunOptions {
  config: FlowConfig;
  graph: FlowGraph;
  /** Absolute path of the flow file. */
  path: string;
  params: Record<string, Literal>;
  /** @includeFile inputs pinned by the run being replayed or resumed (others are read from disk). */
  includes?: Record<string, IncludeRecord>;
  seed?: number;
  tags: string[];
  maxWorkers?: number;
  maxNumSplits: number;
  quiet: boolean;
  json: boolean;
  /** Resume: the origin run and step, the origin tasks to reuse, and its code package (to warn when today's differs). */
  origin?: { run: string; step: string; cloneFrom: (step: string, id: string) => TaskRecord | undefined; code?: CodeRecord; commit?: string | null };
  /** Who starts the run (default: FLOW_USER, else the OS account). */
  user?: string;
  /** flow replay: the seed each task attempt of the origin recorded (a replay draws the same numbers). */
  seedFor?: (step: string, id: string, attempt: number) => string | undefined;
  /**
   * flow cache verify: tasks of another run taken as they are whatever their parents did
   * (`clone`), and the records whose artifacts every task hands on (`handOn`: that run's).
   */
  reuse?: { clone: (step: string, id: string) => TaskRecord | undefined; handOn: (step: string, id: string) => TaskRecord | undefined };
  /** Called with the run id as soon as it is allocated. */
  onStart?: (run: RunRecord) => void;
  /** Called with the final record, before the automatic push to the mirror. */
  onFinish?: (run: RunRecord) => void;
  /** flow replay: the run repeated, its git state (the replay runs from its code package, not a repo), and the params a what-if changed. */
  replay?: { of: string; git: GitRecord | null; whatIf?: Record<string, Literal> };
  /** Working directory of the tasks (default: the current one). */
  cwd?: string;
  /** flow replay: the recorded @npm environments, installed from their locks instead of resolved. */
  recordedEnvs?: Record<string, StepEnvRecord>;
  /** flow replay: the recorded conda environments. */
  recordedConda?: Record<string, CondaEnvRecord>;
  /** Resolve every @npm/@conda spec again instead of reusing the machine's earlier resolution. */
  refreshEnvs?: boolean;
  /** --environment=conda: honour @conda / @condaBase (Metaflow's switch). */
  environment?: 'conda';
  /** The step cache: --cache (true: every step), --no-cache (false: none); default: @cache() steps and .flowrc cache.default. */
  cache?: boolean;
  /** Workers started already (startWorkers), by a caller that started them before loading this module. */
  workers?: RunWorkers;
}

export interface RunOutcome {
  record: RunRecord;
  exitCode: number;
}

/**
 * Runs a flow locally: compile, allocate a run id, write the run record, execute the DAG in
 * a worker pool, and write the final record. Ctrl-C stops the workers and records the run as
 * interrupted (exit 130); a task failure fails the run (exit 1) after running tasks finish.
 */
export async function executeRun(o: RunOptions): Promise<RunOutcome> {
  // Started now (if the caller has not), so worker start-up overlaps compiling and record writing.
  const workers = o.workers ?? startWorkers(o);
  try {
    return await execute(o, workers.pool, workers.size, workers.setOutput);
  } finally {
    workers.pool.close();
  }
}

async function execute(o: RunOptions, pool: WorkerPool, maxWorkers: number, setReporter: (r: OutputSink) => void): Promise<RunOutcome> {
  // Remote backends (@batch) check their settings, stores and queues before a run id exists.
  const remotes = await prepareBackends(o.config, o.graph);
  traceMark('backends prepared');
  try {
    return await executeWith(o, pool, maxWorkers, setReporter, remotes);
  } finally {
    for (const r of remotes) r.close();
  }
}

async function executeWith(o: RunOptions, pool: WorkerPool, maxWorkers: number, setReporter: (r: OutputSink) => void, remotes: PreparedBackend[]): Promise<RunOutcome> {
  const store = openLocalStore(localStoreDir(o.config));
  const mirror = mirrorLocation(o.config);
  const info = (line: string) => {
    if (!o.quiet) process.stderr.write(`${line}\n`);
  };
  // Environments are resolved and installed before a run id exists: a spec that cannot be met fails fast.
  const [compiled, snapshot, remote, envs] = await Promise.all([
    compileFlow(o.path, o.config.projectRoot, npmPackageNames(o.graph)).then((c) => {
      traceMark('compiled');
      return c;
    }),
    snapshotProject(store, o.config, o.replay ? { git: o.replay.git } : {}).then((c) => {
      traceMark('snapshot');
      return c;
    }),
    mirror ? openMirror(mirror) : undefined,
    prepareEnvs(o, store, remotes, info),
  ]);
  // Batch steps' environments are made for the containers (tarballs, conda archives in S3) before a run id exists.
  const runEnvs: RunEnvironments = {
    projectRoot: o.config.projectRoot,
    project: snapshot.env.lockfile,
    npm: new Map([...envs.envs].map(([s, e]) => [s, { lock: e.record.lock, names: e.names }])),
    conda: new Map([...envs.conda].map(([s, e]) => [s, { lock: e.record.lock, specs: matchSpecs(e.record.spec) }])),
  };
  for (const r of remotes) await r.prepareEnvironments(runEnvs, store, info);
  if (o.origin?.code) snapshot.warnings.push(...codeChangeWarning(store, o.origin, snapshot.code, snapshot.git));
  if (!o.quiet) for (const w of snapshot.warnings) process.stderr.write(`warning: ${w}\n`);
  // Read before a run id is allocated: a missing input file is a usage error, not a failed run.
  const includes = captureIncludes(o.graph, o.params, process.cwd(), store, o.includes);
  const started = new Date();
  // With a mirror, the id is claimed there first, so two machines never hand out the same one.
  await remote?.assertConditionalWrites();
  const id = await allocateRunId(remote ? [remote, store] : store, { host: hostname(), pid: process.pid, started: started.toISOString() });
  traceMark('id allocated');
  const record: RunRecord = {
    schema: 'flowrun.run/1',
    id,
    flow: o.graph.flow,
    file: relative(o.config.projectRoot, o.path),
    cwd: cwdInProject(o.config.projectRoot, o.cwd ?? process.cwd()),
    status: 'running',
    params: o.params,
    ...(Object.keys(includes).length ? { includes } : {}),
    seed: o.seed ?? newRunSeed(),
    tags: o.tags,
    user: o.user ?? currentUser(),
    started: started.toISOString(),
    host: hostname(),
    pid: process.pid,
    flowrunVersion: FLOWRUN_VERSION,
    node: process.version,
    steps: o.graph.order.map((name) => ({ name, type: o.graph.steps.find((s) => s.name === name)!.type })),
    git: snapshot.git,
    code: snapshot.code,
    env: snapshot.env,
    envLocks: Object.fromEntries(o.graph.order.map((s) => [s, envs.envs.get(s)?.record.lock ?? envs.conda.get(s)?.record.lock ?? snapshot.env.lockfile?.hash ?? null])),
  };
  if (envs.envs.size > 0) record.stepEnvs = Object.fromEntries([...envs.envs].map(([s, e]) => [s, e.record]));
  if (envs.conda.size > 0) record.condaEnvs = Object.fromEntries([...envs.conda].map(([s, e]) => [s, e.record]));
  if (o.replay) record.replayOf = o.replay.of;
  if (o.replay?.whatIf) record.whatIf = o.replay.whatIf;
  if (o.origin) record.origin = { run: o.origin.run, step: o.origin.step, reused: 0 };
  try {
    store.writeRecordSync(runRecordPath(id), record, true);
  } catch (e) {
    // Nothing ran: the claimed id goes too, rather than stay behind as an empty run directory.
    rmSync(join(store.root, runDir(id)), { recursive: true, force: true });
    throw e;
  }
  o.onStart?.(record);
  traceMark('record written');

  const live = process.stderr.isTTY && !o.quiet && !o.json && !process.env.CI;
  // @catchError({ printException: false }): the caught error is recorded (and stored in its variable), not printed.
  const silentCatch = new Set(o.graph.steps.filter((s) => !stepSettings(s.decorators).printException).map((s) => s.name));
  const tty = live ? new TtyReporter(id, o.graph.flow, o.graph.order, silentCatch) : undefined;
  const reporter = tty ?? new PlainReporter(id, { quiet: o.quiet, json: o.json, silentCatch });
  await tty?.start();
  // What `flow ui` shows of the run before its task records exist: attempts in progress and their output so far.
  const liveRun = new LiveRun(store, id, (run) => {
    const r = store.readRecordSync<RunRecord>(runRecordPath(run));
    return !r || withLiveness(r).status !== 'running';
  });
  setReporter({
    output: (job, stream, text) => {
      reporter.output(job, stream, text);
      liveRun.output(job.step, job.taskId, job.attempt, stream, text);
    },
  });
  const local = new LocalBackend(pool, maxWorkers);
  const attached = remotes.map((r) => ({
    steps: r.steps,
    backend: r.backend({
      run: id,
      flow: o.graph.flow,
      local: store,
      info: (line) => reporter.info(`${id}: ${line}`),
      code: { hash: snapshot.code.hash, file: record.file, cwd: record.cwd ?? '.' },
      path: o.path,
      projectRoot: o.config.projectRoot,
      envPackages: npmPackageNames(o.graph),
    }),
  }));
  const backendFor = (step: string): TaskBackend => attached.find((a) => a.steps.has(step))?.backend ?? local;
  const stepCache = await openStepCache({
    graph: o.graph,
    path: o.path,
    projectRoot: o.config.projectRoot,
    compiled,
    store,
    run: record,
    includes,
    flag: o.cache,
    byDefault: o.config.cache?.default,
    ...(remote ? { mirror: remote } : {}),
    warn: (line) => reporter.info(`warning: ${id}: ${line}`),
  });
  const scheduler = new Scheduler({
    graph: o.graph,
    run: id,
    store,
    backendFor,
    modulePath: compiled.modulePath,
    params: o.params,
    includes,
    seed: record.seed,
    seedFor: o.seedFor,
    context: { tags: record.tags, user: record.user!, ...(record.origin ? { origin: record.origin.run } : {}), ...(record.replayOf ? { replayOf: record.replayOf, whatIf: record.whatIf !== undefined } : {}) },
    maxNumSplits: o.maxNumSplits,
    cloneFrom: o.origin?.cloneFrom ?? o.reuse?.clone,
    cloneAlways: o.reuse !== undefined,
    handOn: o.reuse?.handOn,
    hooks: stepCache,
    npmEnvs: new Map([...envs.envs].map(([s, e]) => [s, { modules: e.modules, names: e.names }])),
    // A conda step runs with the prefix's bin first on PATH and CONDA_PREFIX set, so it can call the env's tools.
    // (A Batch step's container sets its own: nothing of this machine travels.)
    envVars: new Map([...envs.conda].filter(([s]) => !remotes.some((r) => r.steps.has(s))).map(([s, e]) => [s, { CONDA_PREFIX: e.prefix, PATH: `${e.prefix}/bin${delimiter}${process.env.PATH ?? ''}` }])),
    events: {
      taskStarted: (spec, attempt) => {
        if (attempt === 0) tty?.taskStarted(spec.step);
        liveRun.taskStarted(spec.step, spec.id, attempt);
      },
      taskFinished: (spec, rec) => {
        if (rec.clonedFrom && record.origin) record.origin.reused!++;
        reporter.taskFinished(spec, rec);
        liveRun.taskFinished(spec.step, spec.id);
      },
      retrying: (spec, attempt, message) => reporter.retrying(spec, attempt, message),
    },
  });
  const onSignal = () => {
    reporter.info(`${id}: interrupted; stopping tasks...`);
    scheduler.interrupt();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let result;
  try {
    traceMark('scheduler start');
    result = await scheduler.execute();
    traceMark('scheduler done');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    tty?.stop();
    for (const a of attached) a.backend.close?.();
    liveRun.close();
  }
  if (result.fatal !== undefined) abandonRun(store, record, result);
  const finished = new Date();
  record.status = result.status;
  record.finished = finished.toISOString();
  record.durationMs = finished.getTime() - started.getTime();
  record.summary = result.summary;
  if (stepCache) record.cache = cacheRecord(stepCache);
  if (result.failure) record.error = result.failure;
  store.writeRecordSync(runRecordPath(id), record, true);
  o.onFinish?.(record);
  traceMark('final record');
  if (remote && autoPushEnabled(o.config)) {
    const say = (line: string) => {
      if (!o.quiet || line.startsWith('warning')) process.stderr.write(`${line}\n`);
    };
    const pushed = await (await import('../mirror/push.js')).pushAfterRun(store, remote, id, say);
    if (pushed && stepCache) await pushCacheAfterRun(store, remote, id, say);
  }
  // A task that never ran because its infrastructure failed (a Batch job without its bundle, its
  // S3 access or a usable image) exits with that error's code (3 or 4), not "run failed".
  const infra = (result.failure?.data as { infrastructure?: boolean } | undefined)?.infrastructure && (result.failure!.exitCode === ExitCode.storeIntegrity || result.failure!.exitCode === ExitCode.remote) ? result.failure!.exitCode : undefined;
  const exitCode = result.status === 'ok' ? ExitCode.ok : result.status === 'interrupted' ? ExitCode.interrupted : (infra ?? ExitCode.runFailed);
  return { record, exitCode };
}

/**
 * The run's store failed under it (a full disk): a run in which no task was recorded is removed
 * (no empty run directory, nothing to resume); otherwise its record says failed, if it can
 * still be written, and the error says how to continue it. Throws the store's error (exit 3).
 */
function abandonRun(store: DiskStore, record: RunRecord, result: SchedulerResult): never {
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

/**
 * The run's @npm/@conda environments. The environment machinery (npm, the conda solver and
 * installer, semver, tar) is loaded only for a flow that has some: most runs have none.
 */
async function prepareEnvs(o: RunOptions, store: DiskStore, remotes: PreparedBackend[], info: (line: string) => void): Promise<PrepareOutcome> {
  const declared = declaresEnvironment([...o.graph.decorators, ...o.graph.steps.flatMap((s) => s.decorators)]);
  const recorded = Object.keys(o.recordedEnvs ?? {}).length > 0 || Object.keys(o.recordedConda ?? {}).length > 0;
  if (!declared && !recorded) return { envs: new Map(), conda: new Map(), installed: 0 };
  const { prepareEnvironments } = await import('../env/prepare.js');
  return prepareEnvironments({ graph: o.graph, store, projectRoot: o.config.projectRoot, recorded: o.recordedEnvs, recordedConda: o.recordedConda, conda: o.environment === 'conda', refresh: o.refreshEnvs, remoteSteps: remoteStepsOf(remotes), info });
}

/** Steps whose environments are solved for a remote backend's machines, not this one. */
function remoteStepsOf(remotes: PreparedBackend[]): ReadonlyMap<string, { gpu: boolean }> {
  return new Map(remotes.flatMap((r) => [...r.remoteSteps]));
}
