import type { Run, Task } from '../../client/client.js';
import { type LiveTask, readLiveStatus } from '../../runtime/live-read.js';
import { NotFoundError } from '../../errors/index.js';
import type { AttemptRecord, TaskRecord } from '../../metadata/records.js';
import { stepSource } from './code.js';

export interface TaskModel {
  run: { id: string; flow: string; status: string };
  step: string;
  id: string;
  /** Undefined while the task runs (its record is written when it ends). */
  record?: TaskRecord;
  live?: LiveTask;
  artifacts: Array<{ name: string; hash: string; size: number; inherited: boolean }>;
  attempts: Array<AttemptRecord & { logsKept: boolean }>;
  cards: CardRef[];
  code?: { file: string; line: number; endLine: number; text: string };
}

export interface CardRef {
  id: string;
  hash: string;
  title?: string;
  errors?: number;
}

/** The task page: its record (or, while it runs, its live attempt), artifacts, attempts, cards and code. */
export async function taskModel(run: Run, step: string, id: string, parents: (pathspec: string) => TaskRecord | undefined): Promise<TaskModel> {
  const s = run.step(step);
  let task: Task | undefined;
  try {
    task = s.task(id);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  const live = run.status === 'running' ? readLiveStatus(run.store, run.id)?.running.find((t) => t.step === step && t.id === id) : undefined;
  if (!task && !live) throw new NotFoundError('TASK_NOT_FOUND', `Step ${step} of ${run.id} has no task ${id}.`, { step, fix: `flow inspect ${run.id} lists its tasks.` });
  const rec = task?.record;
  const parentRefs = (rec?.parents ?? []).map(parents);
  const artifacts = Object.entries(rec?.artifacts ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, ref]) => ({
      name,
      hash: ref.hash,
      size: ref.size,
      inherited: parentRefs.some((p) => p && Object.hasOwn(p.artifacts, name) && p.artifacts[name]!.hash === ref.hash),
    }));
  const attempts = (rec?.attempts ?? []).map((a, i, all) => ({ ...a, logsKept: Boolean((a as { logs?: unknown }).logs) || i === all.length - 1 }));
  const out: TaskModel = { run: { id: run.id, flow: run.flow, status: run.status }, step, id, artifacts, attempts, cards: cardsOf(rec) };
  if (rec) out.record = rec;
  if (live) out.live = live;
  const code = await stepSource(run, step);
  if (code) out.code = code;
  return out;
}

/** The cards a task record lists (records without cards have none). */
export function cardsOf(rec: TaskRecord | undefined): CardRef[] {
  const cards = (rec as (TaskRecord & { cards?: unknown }) | undefined)?.cards;
  return Array.isArray(cards) ? cards.filter((c): c is CardRef => typeof c === 'object' && c !== null && typeof c.hash === 'string' && /^[0-9a-f]{64}$/.test(c.hash)) : [];
}

/**
 * An attempt's stdout and stderr through the client (Task.logs), cut to the last `max`
 * characters each. Attempts before the last have logs only where the record keeps them.
 */
export async function attemptLogs(task: Task, attempt: number | undefined, max = 2 << 20): Promise<{ attempt: number; stdout: string; stderr: string; cut: { stdout: number; stderr: number } }> {
  const last = task.record.attempts.at(-1)?.attempt ?? 0;
  // Task.logs takes the attempt where per-attempt logs are kept; before that it has the last one's.
  const logs = await (task.logs as (this: Task, attempt?: number) => Promise<{ attempt?: number; stdout: string; stderr: string }>).call(task, attempt);
  const n = logs.attempt ?? last;
  if (attempt !== undefined && n !== attempt) throw new NotFoundError('LOGS_NOT_FOUND', `Task ${task.pathspec} keeps the logs of its last attempt (${last}) only.`, { step: task.step, fix: 'Open the last attempt.' });
  const tail = (s: string) => (s.length > max ? s.slice(s.length - max) : s);
  return { attempt: n, stdout: tail(logs.stdout), stderr: tail(logs.stderr), cut: { stdout: Math.max(0, logs.stdout.length - max), stderr: Math.max(0, logs.stderr.length - max) } };
}
