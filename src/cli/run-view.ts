import { stepSettings } from '../decorators/settings.js';
import type { RunRecord } from '../metadata/records.js';
import type { RunEvents } from '../runtime/run-events.js';
import { PlainReporter, TtyReporter } from './reporter.js';

export interface RunViewOptions {
  /** -q: only the run id on stdout (and what the command itself says about a failure). */
  quiet: boolean;
  /** --json: stdout carries only the final JSON document (task stdout goes to stderr). */
  json: boolean;
  /** Says the run exists (its id, a first line), before any task output. */
  onStarted?: (record: RunRecord) => void;
  /** Says how the run ended, once its final record is written. */
  onFinished?: (record: RunRecord) => void;
}

/**
 * What `flow run`, `flow resume`, `flow replay` and `flow cache verify` show of a run while it
 * runs, as a subscriber of its events: on a terminal a live table of every step's tasks below
 * their output (TtyReporter); elsewhere plain prefixed lines (PlainReporter). Lines said before
 * the run has an id (environments, warnings) are plain either way.
 */
export function runView(o: RunViewOptions): RunEvents {
  let reporter: PlainReporter | undefined;
  let tty: TtyReporter | undefined;
  const info = (line: string) => {
    if (reporter) reporter.info(line);
    else if (!o.quiet) process.stderr.write(`${line}\n`);
  };
  return {
    info,
    warning: (text) => info(`warning: ${text}`),
    started: async (record, graph) => {
      o.onStarted?.(record);
      const live = process.stderr.isTTY && !o.quiet && !o.json && !process.env.CI;
      // @catchError({ printException: false }): the caught error is recorded (and stored in its variable), not printed.
      const silentCatch = new Set(graph.steps.filter((s) => !stepSettings(s.decorators).printException).map((s) => s.name));
      tty = live ? new TtyReporter(record.id, graph.flow, graph.order, silentCatch) : undefined;
      reporter = tty ?? new PlainReporter(record.id, { quiet: o.quiet, json: o.json, silentCatch });
      await tty?.start();
    },
    output: (task, stream, text) => {
      reporter?.output(task, stream, text);
    },
    taskStarted: (spec, attempt) => {
      if (attempt === 0) tty?.taskStarted(spec.step);
    },
    taskFinished: (spec, rec) => reporter?.taskFinished(spec, rec),
    retrying: (spec, attempt, message) => reporter?.retrying(spec, attempt, message),
    tasksEnded: () => tty?.stop(),
    finished: (record) => o.onFinished?.(record),
    // The push after a run says what it sent; with -q only its warnings.
    pushed: (line) => {
      if (!o.quiet || line.startsWith('warning')) process.stderr.write(`${line}\n`);
    },
  };
}
