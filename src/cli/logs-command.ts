import { Run, type Task, openStore } from '../client/client.js';
import { NotFoundError, isFlowError } from '../errors/index.js';
import { crashedLogsOf } from '../batch/task-logs.js';
import type { Pathspec } from './views.js';

export interface LogsOptions {
  attempt?: number;
  stdout: boolean;
  stderr: boolean;
  json: boolean;
  write: (stream: 'stdout' | 'stderr', text: string) => void;
}

/**
 * `flow logs RUN[/STEP[/TASK]]`: one task's output as it wrote it, or every task's of a step (or
 * of the whole run, steps in topological order) with each line prefixed `[run-4/fit/3]`, as
 * `flow run` shows it live. With --attempt on several tasks, those without that attempt are
 * left out (`--attempt 0` on a step shows the first try of the tasks that were retried too).
 */
export async function printLogs(p: Pathspec, o: LogsOptions): Promise<{ schema: 'flowrun.logs/1'; tasks: Array<{ task: string; attempt: number; stdout: string; stderr: string }> }> {
  const run = await Run.open(openStore(), p.run);
  const single = p.task !== undefined;
  let tasks: Task[];
  if (p.step === undefined) tasks = (await Promise.all(run.steps().map((s) => s.tasks()))).flat();
  else tasks = single ? [run.step(p.step).task(p.task!)] : await run.step(p.step).tasks();
  const out = [];
  for (const t of tasks) {
    let logs;
    try {
      logs = await t.logs(o.attempt);
    } catch (e) {
      if (!single && o.attempt !== undefined && isFlowError(e) && e.code === 'LOGS_NOT_FOUND') continue;
      throw e;
    }
    const text = await crashedLogsOf(t.record, logs, o.attempt);
    out.push({ task: t.pathspec, attempt: logs.attempt, ...text });
    if (o.json) continue;
    const prefix = single ? '' : `[${t.pathspec}${o.attempt !== undefined || t.record.attempts.length > 1 ? ` attempt ${logs.attempt}` : ''}] `;
    if (o.stdout && text.stdout) o.write('stdout', prefixed(text.stdout, prefix));
    if (o.stderr && text.stderr) o.write('stderr', prefixed(text.stderr, prefix));
  }
  if (out.length === 0 && tasks.length > 0) {
    throw new NotFoundError('LOGS_NOT_FOUND', `No task of ${[p.run, p.step].filter(Boolean).join('/')} has an attempt ${o.attempt}.`, { fix: "Omit --attempt for each task's last attempt (attempts are numbered from 0)." });
  }
  return { schema: 'flowrun.logs/1', tasks: out };
}

/** Text with every line prefixed, ending in a newline. */
function prefixed(text: string, prefix: string): string {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  return prefix
    ? `${body
        .split('\n')
        .map((l) => `${prefix}${l}`)
        .join('\n')}\n`
    : `${body}\n`;
}
