import type { TaskSpec } from './scheduler.js';
import type { TaskRecord } from './records.js';

/**
 * What a run prints while it runs (plain lines, fit for logs and pipes): task output prefixed
 * `[run-41/fit/3]`, failures as they happen. Task stdout goes to stdout and stderr to stderr,
 * except with --json, where stdout carries only the final JSON document.
 */
export class PlainReporter {
  private readonly partial = new Map<string, string>();

  constructor(readonly run: string, private readonly opts: { quiet: boolean; json: boolean }) {}

  output(spec: { step: string; taskId: string }, stream: 'stdout' | 'stderr', text: string): void {
    if (this.opts.quiet) return;
    const key = `${spec.step}/${spec.taskId}/${stream}`;
    const lines = ((this.partial.get(key) ?? '') + text).split('\n');
    this.partial.set(key, lines.pop()!);
    const prefix = `[${this.run}/${spec.step}/${spec.taskId}] `;
    const out = stream === 'stdout' && !this.opts.json ? process.stdout : process.stderr;
    if (lines.length) out.write(lines.map((l) => prefix + l).join('\n') + '\n');
  }

  taskFinished(spec: TaskSpec, rec: TaskRecord): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const key = `${spec.step}/${spec.id}/${stream}`;
      const rest = this.partial.get(key);
      if (rest) this.output({ step: spec.step, taskId: spec.id }, stream, '\n');
      this.partial.delete(key);
    }
    if (this.opts.quiet) return;
    const last = rec.attempts.at(-1);
    if (rec.status === 'failed' && last?.error) {
      process.stderr.write(`[${this.run}/${spec.step}/${spec.id}] failed (attempt ${last.attempt + 1}/${rec.attempts.length}): ${last.error.code}: ${last.error.message}\n`);
    } else if (rec.attempts.length > 1) {
      process.stderr.write(`[${this.run}/${spec.step}/${spec.id}] ok after ${rec.attempts.length} attempts\n`);
    }
    if (rec.caught) process.stderr.write(`[${this.run}/${spec.step}/${spec.id}] error caught by @catchError: ${rec.caught.code}: ${rec.caught.message}\n`);
  }

  /** A failed attempt that will be retried. */
  retrying(spec: TaskSpec, attempt: number, message: string): void {
    if (!this.opts.quiet) process.stderr.write(`[${this.run}/${spec.step}/${spec.id}] attempt ${attempt + 1} failed (${message}); retrying\n`);
  }

  info(line: string): void {
    if (!this.opts.quiet) process.stderr.write(`${line}\n`);
  }
}
