import type { FlowConfig } from '../config/config.js';
import type { FlowGraph } from '../graph/types.js';
import { UsageError } from '../errors/index.js';
import type { Run } from '../client/client.js';
import { listedStatus } from '../metadata/run-query.js';
import type { RunRecord, TaskRecord } from '../metadata/records.js';
import { own } from '../util/own.js';
import { defaultOrigin, type OriginRecords } from './origin.js';

export interface ResumePlan {
  origin: string;
  /** The step from which tasks are rerun (informational when reusing task by task). */
  step: string;
  /** Origin tasks to reuse, by `step/id`. */
  reuse: Map<string, TaskRecord>;
}

/** What a resume plan is made from: the origin's record and its task records by step. */
export type ResumeOrigin = OriginRecords;

/**
 * The run a resume continues, read from the project's store: the one named with --origin, else
 * the user's latest failed or interrupted run of the flow that no run has resumed (defaultOrigin).
 */
export async function loadResumeOrigin(config: FlowConfig, graph: FlowGraph, user: string, file: string, r: { origin?: string; step?: string }): Promise<OriginRecords> {
  // Loaded here, not at start-up: a flow run that resumes nothing never reads other runs.
  const { Run, listRuns, openProjectStore } = await import('../client/client.js');
  const store = openProjectStore(config);
  const run = await Run.open(store, r.origin ?? defaultOrigin(await listRuns(store), graph.flow, user, file));
  return readResumeOrigin(graph, run, r.step);
}

/** Reads the origin's task records (after the checks, so a changed flow is refused before any is read). */
export async function readResumeOrigin(graph: FlowGraph, origin: Run, step?: string): Promise<OriginRecords> {
  checkResume(graph, origin.record, step);
  const tasks: Array<[string, TaskRecord[]]> = [];
  for (const name of graph.order) {
    if (origin.record.steps.some((s) => s.name === name)) tasks.push([name, (await origin.step(name).tasks()).map((t) => t.record)]);
  }
  return { record: origin.record, tasks: Object.fromEntries(tasks) };
}

/** Refuses a resume of another flow, of a flow whose steps went away, or from a step it does not have. */
export function checkResume(graph: FlowGraph, origin: RunRecord, step?: string): void {
  if (origin.flow !== graph.flow) {
    throw new UsageError('RESUME_GRAPH_MISMATCH', `Run ${origin.id} is a run of ${origin.flow}, not ${graph.flow}.`, { fix: `Pass a run of ${graph.flow} with --origin.` });
  }
  const known = new Set(graph.steps.map((s) => s.name));
  const missing = origin.steps.map((s) => s.name).filter((s) => !known.has(s));
  if (missing.length > 0) {
    throw new UsageError('RESUME_GRAPH_MISMATCH', `The flow changed since ${origin.id}: step(s) ${missing.join(', ')} no longer exist.`, { fix: 'Start a new run with flow run, or restore the steps.' });
  }
  if (step !== undefined && !known.has(step)) throw new UsageError('RESUME_STEP_UNKNOWN', `${graph.flow} has no step ${step}.`, { fix: `Steps: ${graph.order.join(', ')}.` });
}

/**
 * Decides what a resume reuses (pure over the origin's records): every task that succeeded in
 * the origin, except in `step` and the steps after it when a step is named. The scheduler
 * reuses a task only when its parents were reused too, so everything downstream of a rerun
 * task runs again.
 */
export function resumePlan(graph: FlowGraph, origin: ResumeOrigin, step?: string): ResumePlan {
  checkResume(graph, origin.record, step);
  const order = graph.order;
  const cut = step === undefined ? Infinity : order.indexOf(step);
  const reuse = new Map<string, TaskRecord>();
  let firstIncomplete: string | undefined;
  for (const [i, name] of order.entries()) {
    const tasks = origin.record.steps.some((s) => s.name === name) ? (own(origin.tasks, name) ?? []) : [];
    if (!firstIncomplete && (tasks.length === 0 || tasks.some((t) => t.status !== 'ok'))) firstIncomplete = name;
    if (i >= cut) continue;
    for (const t of tasks) if (t.status === 'ok') reuse.set(`${name}/${t.id}`, t);
  }
  if (step === undefined && listedStatus(origin.record) === 'ok') {
    throw new UsageError('RESUME_NOTHING', `Run ${origin.record.id} finished ok: there is nothing to resume.`, { fix: `Name a step to rerun from: flow resume ${graph.file} --origin ${origin.record.id} --step <step>.` });
  }
  return { origin: origin.record.id, step: step ?? firstIncomplete ?? order[0]!, reuse };
}
