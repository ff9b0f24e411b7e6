import { once } from 'node:events';
import type { TaskSpec } from '../runtime/scheduler.js';
import type { TaskRecord } from '../metadata/records.js';
import { displayText } from '../util/terminal.js';

/** The longest unfinished line kept while waiting for its end (the rest is printed as it comes). */
const MAX_PARTIAL = 64 << 10;

/**
 * What a run prints while it runs (plain lines, fit for logs and pipes): task output prefixed
 * `[run-41/fit/3]`, failures as they happen. Task stdout goes to stdout and stderr to stderr,
 * except with --json, where stdout carries only the final JSON document.
 */
export class PlainReporter {
  private readonly partial = new Map<string, string>();

  /** `silentCatch`: steps whose @catchError has printException: false (their caught errors are not printed). */
  constructor(
    readonly run: string,
    private readonly opts: { quiet: boolean; json: boolean; silentCatch?: ReadonlySet<string> },
  ) {}

  /**
   * Prints a piece of a task's output, line by line with the task's prefix. Returns a promise
   * when the terminal or pipe is behind, so the caller reads no more of the task's log until
   * it drained: the orchestrator never holds a task's output in memory. A line longer than
   * MAX_PARTIAL is printed in pieces.
   */
  output(spec: { step: string; taskId: string }, stream: 'stdout' | 'stderr', text: string): void | Promise<void> {
    if (this.opts.quiet) return;
    const key = `${spec.step}/${spec.taskId}/${stream}`;
    const lines = ((this.partial.get(key) ?? '') + text).split('\n');
    let rest = lines.pop()!;
    while (rest.length > MAX_PARTIAL) {
      lines.push(rest.slice(0, MAX_PARTIAL));
      rest = rest.slice(MAX_PARTIAL);
    }
    this.partial.set(key, rest);
    const prefix = `[${this.run}/${spec.step}/${spec.taskId}] `;
    const out = stream === 'stdout' && !this.opts.json ? process.stdout : process.stderr;
    if (lines.length && !out.write(`${lines.map((l) => prefix + l).join('\n')}\n`)) return once(out, 'drain').then(() => undefined);
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
      process.stderr.write(`[${this.run}/${spec.step}/${spec.id}] failed (attempt ${last.attempt + 1}/${rec.attempts.length}): ${last.error.code}: ${displayText(last.error.message)}\n`);
    } else if (rec.attempts.length > 1) {
      process.stderr.write(`[${this.run}/${spec.step}/${spec.id}] ok after ${rec.attempts.length} attempts\n`);
    }
    if (rec.caught && !this.opts.silentCatch?.has(spec.step)) process.stderr.write(`[${this.run}/${spec.step}/${spec.id}] error caught by @catchError: ${rec.caught.code}: ${displayText(rec.caught.message)}\n`);
  }

  /** A failed attempt that will be retried. */
  retrying(spec: TaskSpec, attempt: number, message: string): void {
    if (!this.opts.quiet) process.stderr.write(`[${this.run}/${spec.step}/${spec.id}] attempt ${attempt + 1} failed (${message}); retrying\n`);
  }

  info(line: string): void {
    if (!this.opts.quiet) process.stderr.write(`${line}\n`);
  }
}

/**
 * On a terminal: the same task output, plus a live view of every step's running/done/failed
 * counts and the elapsed time, redrawn in place (log-update) below the output.
 */
export class TtyReporter extends PlainReporter {
  private readonly counts = new Map<string, { running: number; ok: number; failed: number }>();
  private readonly started = Date.now();
  private timer?: NodeJS.Timeout;
  private render?: ((text: string) => void) & { clear(): void; done(): void };

  constructor(
    run: string,
    private readonly flow: string,
    private readonly order: string[],
    silentCatch?: ReadonlySet<string>,
  ) {
    super(run, { quiet: false, json: false, silentCatch });
    for (const s of order) this.counts.set(s, { running: 0, ok: 0, failed: 0 });
  }

  async start(): Promise<void> {
    const { createLogUpdate } = await import('log-update');
    this.render = createLogUpdate(process.stderr, { showCursor: true });
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
  }

  override output(spec: { step: string; taskId: string }, stream: 'stdout' | 'stderr', text: string): void | Promise<void> {
    this.render?.clear();
    const wait = super.output(spec, stream, text);
    this.draw();
    return wait;
  }

  override info(line: string): void {
    this.render?.clear();
    super.info(line);
    this.draw();
  }

  taskStarted(step: string): void {
    this.counts.get(step)!.running++;
  }

  override taskFinished(spec: TaskSpec, rec: TaskRecord): void {
    const c = this.counts.get(spec.step)!;
    // Cloned and reused tasks never started.
    if (rec.clonedFrom === undefined && rec.cachedFrom === undefined) c.running = Math.max(0, c.running - 1);
    c[rec.status]++;
    this.render?.clear();
    super.taskFinished(spec, rec);
    this.draw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.draw();
    this.render?.done();
    // Lines said after the table is done (a push, a warning) are plain: the table is not drawn again.
    this.render = undefined;
  }

  private draw(): void {
    if (!this.render) return;
    const secs = ((Date.now() - this.started) / 1000).toFixed(1);
    const width = Math.max(...this.order.map((s) => s.length));
    const lines = [`${this.run} ${this.flow}  ${secs}s`];
    for (const s of this.order) {
      const c = this.counts.get(s)!;
      const mark = c.failed ? '✗' : c.running ? '●' : c.ok ? '✓' : '·';
      const parts = [c.running ? `${c.running} running` : '', c.ok ? `${c.ok} done` : '', c.failed ? `${c.failed} failed` : ''].filter(Boolean);
      lines.push(`  ${mark} ${s.padEnd(width)}  ${parts.join(', ') || 'waiting'}`);
    }
    this.render(lines.join('\n'));
  }
}
