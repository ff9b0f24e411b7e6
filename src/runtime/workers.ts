import { availableParallelism } from 'node:os';
import type { FlowConfig } from '../config/config.js';
import { npmPackageNames } from '../env/npm-names.js';
import type { FlowGraph } from '../graph/types.js';
import type { TaskJob } from '../task/protocol.js';
import { WorkerPool } from './pool.js';
import type { StepEnvRecord } from '../metadata/records.js';

type Output = (job: TaskJob, stream: 'stdout' | 'stderr', text: string) => void;

/** A run's worker pool, started before the rest of the run is loaded. */
export interface RunWorkers {
  pool: WorkerPool;
  /** Tasks run at once. */
  size: number;
  /** Where task output goes once the run's reporter exists. */
  setOutput(to: Output): void;
}

export interface WorkerOptions {
  config: FlowConfig;
  graph: FlowGraph;
  maxWorkers?: number;
  cwd?: string;
  recordedEnvs?: Record<string, StepEnvRecord>;
}

/**
 * Starts the run's workers as soon as the graph is known. `flow run` calls this before it loads
 * the run machinery (snapshot, compiler, scheduler), so a worker's own start-up (a Node process
 * importing the task code) overlaps all of the orchestrator's. A flow without a fan-out runs one
 * task at a time: it starts one worker, not a second that would only compete for the cores.
 * This module stays small for that reason.
 */
export function startWorkers(o: WorkerOptions): RunWorkers {
  const size = o.maxWorkers ?? o.config.maxWorkers ?? availableParallelism();
  const moduleHooks = npmPackageNames(o.graph).size > 0 || Object.keys(o.recordedEnvs ?? {}).length > 0;
  let output: Output | undefined;
  const pool = new WorkerPool({ size, cwd: o.cwd ?? process.cwd(), moduleHooks, onOutput: (job, stream, text) => output?.(job, stream, text) });
  const fansOut = o.graph.steps.some((s) => s.type === 'foreach' || s.type === 'branch');
  pool.prestart(Math.min(size, fansOut ? 2 : 1));
  return { pool, size, setOutput: (to) => { output = to; } };
}
