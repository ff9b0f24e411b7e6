import type { Store } from '../../store/types.js';
import type { TaskJob } from '../../task/protocol.js';
import { type LiveLogRecord, liveLogPath, type TaskPayload } from '../payload.js';

/**
 * A running task's output, uploaded to the store every `logEveryS` seconds: each upload stores
 * only what is new as an object (a chunk) and rewrites the small record listing the chunks in
 * order, so `flow logs --follow` can print a task's output while it runs, from any machine that
 * reads the store. The final flush marks the record done; the result record follows.
 */
export class LiveLog {
  private pending: Array<{ stream: 'stdout' | 'stderr'; text: string }> = [];
  private readonly record: LiveLogRecord;
  private readonly timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    payload: TaskPayload,
    private readonly job: TaskJob,
    batchJobId: string,
  ) {
    this.record = { v: 1, run: payload.run, step: job.step, task: job.taskId, attempt: job.attempt, batchJobId, chunks: [], done: false, updated: new Date().toISOString() };
    if (payload.logEveryS > 0) {
      this.timer = setInterval(() => {
        this.flushing = this.flushing.then(() => this.flush());
      }, payload.logEveryS * 1000);
      this.timer.unref();
    }
  }

  append(stream: 'stdout' | 'stderr', text: string): void {
    const last = this.pending.at(-1);
    if (last?.stream === stream) last.text += text;
    else this.pending.push({ stream, text });
  }

  /** The last upload, marked done (errors are reported, never fatal: the result record matters more). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (!this.timer) return;
    this.flushing = this.flushing.then(() => this.flush(true));
    await this.flushing;
  }

  private async flush(done = false): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0 && !done) return;
    try {
      for (const { stream, text } of batch) {
        const bytes = Buffer.from(text);
        this.record.chunks.push({ stream, hash: await this.store.putObject(bytes), bytes: bytes.byteLength });
      }
      this.record.done = done;
      this.record.updated = new Date().toISOString();
      await this.store.writeRecord(liveLogPath(this.record.run, this.job.step, this.job.taskId, this.job.attempt), this.record);
    } catch (e) {
      process.stderr.write(`flowrun bootstrap: uploading the task's output failed (${(e as Error).message}); retrying at the next upload\n`);
      this.pending = [...batch, ...this.pending];
    }
  }
}
