import { appendFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DiskStore } from '../store/types.js';
import { LIVE_LOG_MAX_BYTES, type LiveStatus, type LiveTask, liveDir, liveLogPath, liveStatusPath } from './live-read.js';

/** How often, at most, the status file is rewritten while tasks start and end. */
const FLUSH_MS = 300;

/**
 * What a running run shows to `flow ui` before its task records exist: the attempts in
 * progress (status.json, rewritten at most every FLUSH_MS) and each one's output so far
 * (append-only files, cut at LIVE_LOG_MAX_BYTES). All of it lives under `live/<run>/`, outside
 * the records and objects (fsck, gc and push never see it), and is removed as each task and
 * then the run ends: the stored logs are the record. A killed run leaves it behind; the next
 * run in the store sweeps it.
 */
export class LiveRun {
  private readonly running = new Map<string, LiveTask>();
  private readonly written = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private dirty = false;
  private readonly dir: string;

  constructor(
    private readonly store: DiskStore,
    private readonly run: string,
    isFinished: (run: string) => boolean,
  ) {
    this.dir = join(store.root, liveDir(run));
    sweep(store, isFinished);
    this.flush();
  }

  taskStarted(step: string, id: string, attempt: number): void {
    this.running.set(`${step}/${id}`, { step, id, attempt, started: new Date().toISOString() });
    this.touch();
  }

  taskFinished(step: string, id: string): void {
    const t = this.running.get(`${step}/${id}`);
    this.running.delete(`${step}/${id}`);
    if (t) {
      for (let a = 0; a <= t.attempt; a++) {
        for (const stream of ['stdout', 'stderr'] as const) {
          const path = join(this.store.root, liveLogPath(this.run, step, id, a, stream));
          this.written.delete(path);
          rmSync(path, { force: true });
        }
      }
    }
    this.touch();
  }

  /** A piece of a running attempt's output (local workers; Batch logs arrive when the job ends). */
  output(step: string, id: string, attempt: number, stream: 'stdout' | 'stderr', text: string): void {
    const path = join(this.store.root, liveLogPath(this.run, step, id, attempt, stream));
    const sofar = this.written.get(path) ?? 0;
    if (sofar >= LIVE_LOG_MAX_BYTES) return;
    const bytes = Buffer.from(text);
    const part = sofar + bytes.byteLength > LIVE_LOG_MAX_BYTES ? bytes.subarray(0, LIVE_LOG_MAX_BYTES - sofar) : bytes;
    try {
      if (sofar === 0) mkdirSync(join(this.dir, 'logs'), { recursive: true });
      appendFileSync(path, part);
      this.written.set(path, sofar + part.byteLength);
    } catch {
      // The live view is a convenience: a full disk or a removed directory must not fail the run.
      this.written.set(path, LIVE_LOG_MAX_BYTES);
    }
  }

  /** The run ended: its records say everything now. */
  close(): void {
    clearTimeout(this.timer);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private touch(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.dirty) this.flush();
    }, FLUSH_MS);
    this.timer.unref();
  }

  private flush(): void {
    this.dirty = false;
    const status: LiveStatus = { run: this.run, updated: new Date().toISOString(), running: [...this.running.values()] };
    try {
      this.store.writeRecordSync(liveStatusPath(this.run), status);
    } catch {
      /* see output() */
    }
  }
}

/** Removes what killed runs left under live/ (their records say they are over). */
function sweep(store: DiskStore, isFinished: (run: string) => boolean): void {
  let names: string[];
  try {
    names = readdirSync(join(store.root, 'live'));
  } catch {
    return;
  }
  for (const name of names) {
    if (/^run-\d+$/.test(name) && isFinished(name)) rmSync(join(store.root, 'live', name), { recursive: true, force: true });
  }
}
