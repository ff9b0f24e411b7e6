import type { Run } from '../../client/client.js';
import { type LiveTask, readLiveStatus } from '../../runtime/live-read.js';
import type { FlowGraph } from '../../graph/types.js';
import type { RunRecord, TaskRecord } from '../../metadata/records.js';
import type { StoreReader } from '../reader.js';
import { own } from '../../util/own.js';

export type StepState = 'ok' | 'failed' | 'running' | 'pending' | 'not run';

export interface DagNode {
  name: string;
  type: string;
  foreach?: string;
  doc?: string;
  decorators: string[];
  line?: number;
  state: StepState;
  tasks: number;
  ok: number;
  failed: number;
  running: number;
  /** Tasks the step will have, when known (a foreach's children: the splits counted so far). */
  expected?: number;
  /** Tasks reused from the step cache. */
  cached?: number;
}

export interface DagEdge {
  from: string;
  to: string;
  foreach?: boolean;
}

export interface RunModel {
  record: RunRecord;
  dag: { nodes: DagNode[]; edges: DagEdge[]; source: 'code-package' | 'records' };
  running: LiveTask[];
  tasks: number;
}

/** The run page: the record, the DAG with each step's state and counts, the attempts in progress. */
export async function runModel(reader: StoreReader, run: Run): Promise<RunModel> {
  const graph = await reader.graph(run);
  const summary = run.record.summary;
  if (graph && summary && run.status !== 'running') return finishedRunModel(run, graph, summary);
  const records = await reader.taskRecords(run);
  const live = run.status === 'running' ? (readLiveStatus(reader.store, run.id)?.running ?? []) : [];
  const nodes = run.record.steps.map(({ name, type }) => node(name, type, graph, records.get(name) ?? [], live, run.status === 'running'));
  const edges = graph ? graphEdges(graph) : recordEdges(records);
  for (const n of nodes) n.expected = expectedTasks(n.name, edges, records);
  for (const n of nodes) {
    if (run.status === 'running' && n.state === 'ok' && n.expected !== undefined && n.tasks < n.expected) n.state = 'running';
  }
  const tasks = nodes.reduce((a, n) => a + n.tasks, 0);
  return { record: run.record, dag: { nodes, edges, source: graph ? 'code-package' : 'records' }, running: live, tasks };
}

/** A finished run's page needs no task record: its record has every step's counts. */
function finishedRunModel(run: Run, graph: FlowGraph, summary: NonNullable<RunRecord['summary']>): RunModel {
  const nodes = run.record.steps.map(({ name, type }) => {
    const s = own(summary, name) ?? { tasks: 0, ok: 0, failed: 0 };
    const n = node(name, type, graph, [], [], false);
    return { ...n, tasks: s.tasks, ok: s.ok, failed: s.failed, ...(s.cached ? { cached: s.cached } : {}), state: (s.failed > 0 ? 'failed' : s.tasks > 0 ? 'ok' : 'not run') as StepState };
  });
  return { record: run.record, dag: { nodes, edges: graphEdges(graph), source: 'code-package' }, running: [], tasks: nodes.reduce((a, n) => a + n.tasks, 0) };
}

function node(name: string, type: string, graph: FlowGraph | null, tasks: TaskRecord[], live: LiveTask[], runRunning: boolean): DagNode {
  const g = graph?.steps.find((s) => s.name === name);
  const ok = tasks.filter((t) => t.status === 'ok').length;
  const failed = tasks.length - ok;
  const running = live.filter((t) => t.step === name).length;
  const state: StepState = failed > 0 ? 'failed' : running > 0 ? 'running' : tasks.length > 0 ? 'ok' : runRunning ? 'pending' : 'not run';
  const n: DagNode = { name, type, decorators: g?.decorators.map((d) => d.name) ?? [], state, tasks: tasks.length, ok, failed, running };
  const cached = tasks.filter((t) => t.cachedFrom !== undefined).length;
  if (cached) n.cached = cached;
  if (g?.foreach) n.foreach = g.foreach;
  if (g?.doc) n.doc = g.doc;
  if (g) n.line = g.line;
  return n;
}

function graphEdges(g: FlowGraph): DagEdge[] {
  return g.steps.flatMap((s) => s.next.map((to) => ({ from: s.name, to, ...(s.foreach ? { foreach: true } : {}) })));
}

/** Without the flow file: the edges the tasks followed (each task names its parents). */
function recordEdges(records: Map<string, TaskRecord[]>): DagEdge[] {
  const seen = new Set<string>();
  const out: DagEdge[] = [];
  for (const [step, tasks] of records) {
    for (const t of tasks) {
      for (const p of t.parents) {
        const from = p.split('/')[0]!;
        if (seen.has(`${from}>${step}`)) continue;
        seen.add(`${from}>${step}`);
        out.push({ from, to: step });
      }
    }
  }
  return out;
}

/** A foreach's child step gets one task per split its parent tasks asked for. */
function expectedTasks(step: string, edges: DagEdge[], records: Map<string, TaskRecord[]>): number | undefined {
  const into = edges.filter((e) => e.to === step);
  if (into.length !== 1 || !into[0]!.foreach) return undefined;
  const parents = records.get(into[0]!.from) ?? [];
  return parents.reduce((n, t) => n + (t.next?.count ?? 0), 0);
}

/** Every task and attempt on one time axis (ms from the run's start), compact for 10,000 tasks. */
export interface TimelineModel {
  start: string;
  /** ms from start to the run's end (or now, for a running run). */
  span: number;
  steps: string[];
  /** [step index, task id, final status (1 ok, 0 failed), attempts: [start, duration, ok]]. */
  tasks: Array<[number, string, 0 | 1, Array<[number, number, 0 | 1]>]>;
  /** Attempts in progress: [step index, task id, attempt, start]. */
  running: Array<[number, string, number, number]>;
  /** The run is still running (the page polls). */
  live: boolean;
}

export async function timelineModel(reader: StoreReader, run: Run): Promise<TimelineModel> {
  const records = await reader.taskRecords(run);
  const t0 = Date.parse(run.record.started);
  const steps = run.record.steps.map((s) => s.name);
  const index = new Map(steps.map((s, i) => [s, i]));
  const tasks: TimelineModel['tasks'] = [];
  let end = run.record.finished ? Date.parse(run.record.finished) : Date.now();
  for (const [step, list] of records) {
    for (const t of list) {
      const attempts = t.attempts.map((a): [number, number, 0 | 1] => [Date.parse(a.started) - t0, a.durationMs, a.status === 'ok' ? 1 : 0]);
      for (const [s, d] of attempts) end = Math.max(end, t0 + s + d);
      tasks.push([index.get(step) ?? -1, t.id, t.status === 'ok' ? 1 : 0, attempts]);
    }
  }
  tasks.sort((a, b) => (a[3][0]?.[0] ?? 0) - (b[3][0]?.[0] ?? 0) || a[0] - b[0]);
  const live = run.status === 'running' ? (readLiveStatus(reader.store, run.id)?.running ?? []) : [];
  const running = live.map((t): [number, string, number, number] => [index.get(t.step) ?? -1, t.id, t.attempt, Date.parse(t.started) - t0]);
  return { start: run.record.started, span: Math.max(1, end - t0), steps, tasks, running, live: run.status === 'running' };
}
