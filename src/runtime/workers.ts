import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { type FlowConfig, localStoreDir } from '../config/config.js';
import { npmPackageNames } from '../env/npm-names.js';
import type { FlowGraph } from '../graph/types.js';
import type { StepEnvRecord } from '../metadata/records.js';
import type { TaskJob } from '../task/protocol.js';
import { hasLocalSteps } from './backends.js';
import type { Stream } from './log-follow.js';
import { WorkerPool } from './pool.js';
import { discardEarlyWorker, takeEarlyWorker } from './early-worker.js';
import { cachedSteps } from '../cache/settings.js';

/** Where task output goes while the run runs (the reporter, the live view). */
export interface OutputSink {
  output(job: TaskJob, stream: Stream, text: string): void;
}

/** A run's worker pool, started before the rest of the run is loaded. */
export interface RunWorkers {
  pool: WorkerPool;
  /** Tasks run at once. */
  size: number;
  /** Where task output goes once the run's reporter exists. */
  setOutput(to: OutputSink): void;
}

export interface WorkerOptions {
  config: FlowConfig;
  graph: FlowGraph;
  maxWorkers?: number;
  /** Working directory of the tasks (default: the current one). */
  cwd?: string;
  recordedEnvs?: Record<string, StepEnvRecord>;
  /** --quiet: task output is only stored, not followed. */
  quiet: boolean;
  /** --cache / --no-cache (the step cache). */
  cache?: boolean;
}

/**
 * Starts the run's workers as soon as the graph is known. `flow run` calls this before it loads
 * the run machinery (compiler, snapshot, scheduler), so a worker's own start-up (a Node process
 * importing the task runtime) overlaps all of the orchestrator's. A flow without a fan-out runs
 * one task at a time: it starts one worker, not a second that would only compete for the cores;
 * none when every step runs on a remote backend; one when the start step is cached (a rerun that
 * reuses most tasks needs few workers). This module stays small for that reason.
 */
export function startWorkers(o: WorkerOptions): RunWorkers {
  const size = o.maxWorkers ?? o.config.maxWorkers ?? availableParallelism();
  const moduleHooks = npmPackageNames(o.graph).size > 0 || Object.keys(o.recordedEnvs ?? {}).length > 0;
  // Task logs are spooled next to the store (same disk as the objects they become, not a RAM-backed /tmp).
  const spoolDir = join(localStoreDir(o.config), 'tmp');
  let sink: OutputSink | undefined;
  const onOutput = o.quiet ? undefined : (job: TaskJob, stream: Stream, text: string) => sink?.output(job, stream, text);
  const pool = new WorkerPool({ size, cwd: o.cwd ?? process.cwd(), moduleHooks, spoolDir, onOutput });
  const fansOut = o.graph.steps.some((s) => s.type === 'foreach' || s.type === 'branch') && !cachedSteps(o.graph, o.cache, o.config.cache?.default).has('start');
  // bin/run.js's worker is the pool's first one when the pool would start a default worker in
  // the same directory; @npm module hooks need workers started with them.
  const early = takeEarlyWorker();
  const local = hasLocalSteps(o.graph);
  if (early && local && !moduleHooks && (o.cwd === undefined || o.cwd === process.cwd())) pool.adopt(early);
  else if (early) discardEarlyWorker(early);
  if (local) pool.prestart(Math.min(size, fansOut ? 2 : 1));
  return {
    pool,
    size,
    setOutput: (to) => {
      sink = to;
    },
  };
}
