import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { ExitCode } from '../errors/index.js';
import type { FlowErrorJson } from '../errors/index.js';
import type { RemoteAttempt } from './records.js';
import { END_MARKER, type FromWorker, type TaskJob, type TaskResult, type ToWorker } from '../task/protocol.js';

import { PACKAGE_ROOT } from '../util/package-info.js';

const WORKER_SCRIPT = join(PACKAGE_ROOT, 'dist', 'src', 'task', 'worker.js');

export interface TaskOutcome {
  result: TaskResult;
  stdout: string;
  stderr: string;
  /** Set by a remote backend: where the attempt ran (recorded on the attempt). */
  remote?: RemoteAttempt;
}

export interface PoolOptions {
  size: number;
  /** Retire a worker after this many tasks: each task imports a fresh module, which is never freed. */
  recycleAfter?: number;
  /** Working directory of the workers (and so of every task). */
  cwd?: string;
  /** Register the @npm module hooks as each worker starts (off the first task's critical path). */
  moduleHooks?: boolean;
  /** Called with each piece of a task's output as it arrives. */
  onOutput?: (job: TaskJob, stream: 'stdout' | 'stderr', text: string) => void;
}

interface Pending {
  job: TaskJob;
  heapMB?: number;
  /** Called when a worker takes the job (timeouts count from here). */
  onStart?: () => void;
  resolve: (o: TaskOutcome) => void;
}

/** Workers that die before they are ready this many times in a row mean they cannot start at all. */
const MAX_START_FAILURES = 3;

type Stream = 'stdout' | 'stderr';

class Worker {
  ready = false;
  current?: Pending & { done?: TaskResult; seq?: number; ended: Record<Stream, number>; logs: Record<Stream, string>; aborted?: 'timeout' | 'interrupt' };
  tasksRun = 0;
  retiring = false;
  private tails: Record<Stream, string> = { stdout: '', stderr: '' };

  constructor(readonly child: ChildProcess, readonly heapMB: number | undefined) {}

  /** Splits a stream's data at end markers and hands text to the current task. */
  feed(stream: Stream, data: string, emit: (text: string) => void, marker: (seq: number) => void): void {
    let buf = this.tails[stream] + data;
    for (;;) {
      const m = END_MARKER.exec(buf);
      if (!m) break;
      if (m.index > 0) emit(buf.slice(0, m.index));
      marker(Number(m[1]));
      buf = buf.slice(m.index + m[0].length);
    }
    const nul = buf.lastIndexOf('\u0000');
    // Hold back a possibly incomplete marker; emit everything else now (live logs).
    const keep = nul !== -1 && buf.length - nul < 32 ? buf.slice(nul) : '';
    const out = buf.slice(0, buf.length - keep.length);
    if (out) emit(out);
    this.tails[stream] = keep;
  }
}

/**
 * A pool of pre-started worker processes (child_process.fork with IPC). Each task runs in a
 * worker process, so a task that throws, exits, runs out of memory or hangs takes down at
 * most its worker: the pool reports the failure and starts a replacement. Reusing workers
 * (instead of a process per task) is what keeps the per-task overhead low (BENCHMARKS.md).
 */
export class WorkerPool {
  private readonly workers = new Set<Worker>();
  private readonly queue: Pending[] = [];
  private closed = false;
  private startFailures = 0;

  constructor(private readonly options: PoolOptions) {}

  /** Starts `n` default workers now, so their start-up overlaps the run's own set-up. */
  prestart(n = this.options.size): void {
    for (let i = this.workers.size; i < Math.min(n, this.options.size); i++) this.spawn(undefined);
  }

  run(job: TaskJob, heapMB?: number, onStart?: () => void): Promise<TaskOutcome> {
    return new Promise((resolve) => {
      this.queue.push({ job, heapMB, onStart, resolve });
      this.dispatch();
    });
  }

  /** Kills the worker running `job` (timeout or interrupt); its outcome reports why. */
  abort(job: TaskJob, reason: 'timeout' | 'interrupt'): void {
    for (const w of this.workers) {
      if (w.current?.job === job) { w.current.aborted = reason; w.child.kill('SIGKILL'); }
    }
  }

  /** Stops every worker; queued tasks are dropped. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    for (const w of this.workers) w.child.kill('SIGKILL');
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      const next = this.queue[0]!;
      const idle = [...this.workers].find((w) => w.ready && !w.current && !w.retiring && w.heapMB === next.heapMB);
      if (idle) {
        this.queue.shift();
        this.start(idle, next);
        continue;
      }
      const live = [...this.workers].filter((w) => !w.retiring);
      if (live.length < this.options.size) {
        if (!live.some((w) => !w.ready && w.heapMB === next.heapMB)) this.spawn(next.heapMB);
        return;
      }
      // At capacity: retire an idle worker of another kind (different heap limit) to make room.
      const other = live.find((w) => w.ready && !w.current && w.heapMB !== next.heapMB);
      if (other) { this.retire(other); continue; }
      return;
    }
  }

  private start(w: Worker, p: Pending): void {
    w.current = { ...p, ended: { stdout: 0, stderr: 0 }, logs: { stdout: '', stderr: '' } };
    w.tasksRun++;
    w.child.send({ type: 'run', job: p.job } satisfies ToWorker);
    p.onStart?.();
  }

  private spawn(heapMB: number | undefined): void {
    const execArgv = heapMB ? [`--max-old-space-size=${heapMB}`] : [];
    const env = this.options.moduleHooks ? { ...process.env, FLOWRUN_MODULE_HOOKS: '1' } : process.env;
    const child = fork(WORKER_SCRIPT, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv, serialization: 'advanced', cwd: this.options.cwd, env });
    const w = new Worker(child, heapMB);
    this.workers.add(w);
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream]!.setEncoding('utf8');
      child[stream]!.on('data', (data: string) => w.feed(stream, data,
        (text) => {
          if (!w.current) return;
          w.current.logs[stream] += text;
          this.options.onOutput?.(w.current.job, stream, text);
        },
        (seq) => { if (w.current) { w.current.ended[stream] = seq; this.maybeFinish(w); } }));
    }
    child.on('message', (m: FromWorker) => {
      if (m.type === 'ready') { w.ready = true; this.startFailures = 0; this.dispatch(); return; }
      if (m.type === 'done' && w.current) { w.current.done = m.result; w.current.seq = m.seq; this.maybeFinish(w); }
    });
    child.on('exit', (code, signal) => {
      this.workers.delete(w);
      const cur = w.current;
      w.current = undefined;
      if (cur) cur.resolve({ result: { ok: false, error: crashError(cur.job, code, signal, cur.aborted, cur.logs.stderr, cur.heapMB) }, stdout: cur.logs.stdout, stderr: cur.logs.stderr });
      if (!w.ready && !w.retiring && ++this.startFailures >= MAX_START_FAILURES) this.failQueue(w, code, signal);
      if (!this.closed) this.dispatch();
    });
    child.on('error', () => { /* 'exit' follows and reports it */ });
  }

  /** Workers keep dying before they start: fail the waiting tasks of that kind instead of respawning forever. */
  private failQueue(w: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    this.startFailures = 0;
    const stuck = this.queue.filter((p) => p.heapMB === w.heapMB);
    for (const p of stuck) this.queue.splice(this.queue.indexOf(p), 1);
    for (const p of stuck) {
      p.resolve({ result: { ok: false, error: {
        code: 'TASK_CRASHED', step: p.job.step, exitCode: ExitCode.runFailed, data: { exitCode: code, signal },
        message: `Task ${p.job.step}/${p.job.taskId} could not start: its worker process exited ${signal ? `by ${signal}` : `with code ${code}`} ${MAX_START_FAILURES} times before it was ready${w.heapMB ? ` (heap limit ${w.heapMB} MiB from @resources)` : ''}.`,
        fix: w.heapMB ? 'Raise @resources({ memory }): a Node worker needs at least ~32 MiB.' : 'Reinstall flowrun (npm ci); its worker script may be missing.',
      } }, stdout: '', stderr: '' });
    }
  }

  private maybeFinish(w: Worker): void {
    const cur = w.current;
    if (!cur?.done || cur.seq === undefined || cur.ended.stdout !== cur.seq || cur.ended.stderr !== cur.seq) return;
    w.current = undefined;
    cur.resolve({ result: cur.done, stdout: cur.logs.stdout, stderr: cur.logs.stderr });
    if (w.tasksRun >= (this.options.recycleAfter ?? 500)) this.retire(w);
    this.dispatch();
  }

  private retire(w: Worker): void {
    w.retiring = true;
    w.child.send({ type: 'exit' } satisfies ToWorker);
  }
}

function crashError(job: TaskJob, code: number | null, signal: NodeJS.Signals | null, aborted: 'timeout' | 'interrupt' | undefined, stderr: string, heapMB?: number): FlowErrorJson {
  const base = { step: job.step, exitCode: ExitCode.runFailed } as const;
  if (aborted === 'timeout') return { ...base, code: 'TASK_TIMEOUT', message: `Task ${job.step}/${job.taskId} ran past its @timeout and was killed.`, fix: 'Raise @timeout or make the step faster.' };
  if (aborted === 'interrupt') return { ...base, code: 'TASK_INTERRUPTED', message: `Task ${job.step}/${job.taskId} was stopped because the run was interrupted.` };
  if (/heap out of memory|Reached heap limit|Allocation failed/i.test(stderr)) {
    return { ...base, code: 'TASK_OOM', message: `Task ${job.step}/${job.taskId} ran out of memory${heapMB ? ` (limit ${heapMB} MiB from @resources)` : ''}.`, fix: 'Use less memory in the step, or raise @resources({ memory }).' };
  }
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  return { ...base, code: 'TASK_CRASHED', message: `Task ${job.step}/${job.taskId}: its process ${how} (for example process.exit() or a native crash).`, fix: 'See the task\'s stderr (flow logs) for what happened before it stopped.', data: { exitCode: code, signal } };
}
