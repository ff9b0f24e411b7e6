import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../errors/index.js';
import type { FlowErrorJson } from '../errors/index.js';
import type { RemoteAttempt } from '../metadata/records.js';
import type { FromWorker, TaskJob, TaskResult, ToWorker } from '../task/protocol.js';
import { RUNTIME_WORKER } from '../util/package-info.js';
import type { EarlyWorker } from './early-worker.js';
import { LogFollower, type Stream } from './log-follow.js';
import { type AttemptLogs, NO_LOGS, readTail } from './task-logs.js';
import { killTaskProcesses } from '../util/processes.js';
import { traceMark } from '../util/trace.js';

export interface TaskOutcome {
  result: TaskResult;
  /** The attempt's output; spool files are the caller's to store (storeAttemptLogs) and remove. */
  logs: AttemptLogs;
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
  /**
   * Called with each piece of a task's output as it arrives (read from its log files every
   * 100 ms); a returned promise delays further reads, and the attempt's outcome waits until
   * all of its output went through.
   */
  onOutput?: (job: TaskJob, stream: Stream, text: string) => void | Promise<void>;
  /** Where the attempts' log files are spooled until stored (default: the OS temp directory). */
  spoolDir?: string;
  /** A task run with `inspect` is waiting for a debugger at this URL (flow spin --inspect-brk). */
  onInspector?: (job: TaskJob, url: string) => void;
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

interface Attempt extends Pending {
  files: Record<Stream, string>;
  /** Streams the task wrote nothing to (their files go on to the worker's next task). */
  empty: Partial<Record<Stream, boolean>>;
  follower?: LogFollower;
  done?: TaskResult;
  aborted?: 'timeout' | 'interrupt';
}

class Worker {
  ready = false;
  current?: Attempt;
  tasksRun = 0;
  retiring = false;
  /** Processes the worker reported its tasks started, for a kill from outside (timeout). */
  spawned = new Set<number>();
  /** Files of streams its last task left empty, open in the worker for its next task. */
  empty: Partial<Record<Stream, string>> = {};

  constructor(
    readonly child: ChildProcess,
    readonly heapMB: number | undefined,
    readonly id: number,
  ) {}
}

const POLL_MS = 100;

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
  private spool?: string;
  private nextId = 0;
  private attempts = 0;
  private poller?: NodeJS.Timeout;

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
      if (w.current?.job === job) {
        w.current.aborted = reason;
        this.kill(w);
      }
    }
  }

  /** Stops every worker (with the processes their tasks started); queued tasks are dropped. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    // A busy worker's task is stopped with its whole family; an idle one has nothing of a task left.
    for (const w of this.workers) {
      if (w.current) this.kill(w);
      else killTaskProcesses(w.child.pid, [], false);
      // Killed: the run need not wait for the process to be reaped before it exits.
      w.child.unref();
      w.child.channel?.unref();
    }
    if (this.poller) clearInterval(this.poller);
    if (this.spool) rmSync(this.spool, { recursive: true, force: true });
  }

  /** SIGKILL to the worker, its process group and every process its task started. */
  private kill(w: Worker): void {
    killTaskProcesses(w.child.pid, [...w.spawned], true);
  }

  private spoolDir(): string {
    if (!this.spool) {
      try {
        mkdirSync(this.options.spoolDir ?? tmpdir(), { recursive: true });
        this.spool = mkdtempSync(join(this.options.spoolDir ?? tmpdir(), 'logs-'));
      } catch {
        // The store's directory is not usable (the run reports that itself): spool in the OS temp directory.
        this.spool = mkdtempSync(join(tmpdir(), 'flowrun-logs-'));
      }
    }
    return this.spool;
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
      if (other) {
        this.retire(other);
        continue;
      }
      return;
    }
  }

  private start(w: Worker, p: Pending): void {
    // A stream the worker's previous task left empty keeps its file: creating one costs ~0.7 ms on ext4.
    const files = { stdout: w.empty.stdout ?? this.logFile('out'), stderr: w.empty.stderr ?? this.logFile('err') };
    w.empty = {};
    const sink = this.options.onOutput;
    w.current = { ...p, files, empty: {}, follower: sink ? new LogFollower(files, (stream, text) => sink(p.job, stream, text)) : undefined };
    w.tasksRun++;
    w.child.send({ type: 'run', job: p.job, logs: files } satisfies ToWorker);
    p.onStart?.();
    if (sink && !this.poller) {
      this.poller = setInterval(() => {
        for (const x of this.workers) x.current?.follower?.poll();
      }, POLL_MS);
      this.poller.unref();
    }
  }

  private logFile(ext: 'out' | 'err'): string {
    return join(this.spoolDir(), `${++this.attempts}.${ext}`);
  }

  private spawn(heapMB: number | undefined): void {
    const execArgv = heapMB ? [`--max-old-space-size=${heapMB}`] : [];
    const id = ++this.nextId;
    // Output written before the worker's first task (start-up) goes to the worker's own file.
    const idle = join(this.spoolDir(), `worker-${id}.log`);
    const env = this.options.moduleHooks ? { ...process.env, FLOWRUN_MODULE_HOOKS: '1' } : process.env;
    const fd = openSync(idle, 'a');
    let child: ChildProcess;
    try {
      // detached: the worker leads its own process group, which its tasks' children join.
      child = fork(RUNTIME_WORKER, [], { stdio: ['ignore', fd, fd, 'ipc'], execArgv, serialization: 'advanced', cwd: this.options.cwd, env, detached: true });
    } finally {
      closeSync(fd);
    }
    this.attach(child, heapMB, id);
  }

  /**
   * Takes over a default worker started before the pool existed (bin/run.js forks one for
   * `flow run` before it loads the CLI): counted by prestart() as one of its own.
   */
  adopt(early: EarlyWorker): void {
    early.child.ref();
    early.child.channel?.ref();
    const w = this.attach(early.child, undefined, ++this.nextId);
    if (early.ready) this.workerReady(w);
  }

  private workerReady(w: Worker): void {
    traceMark('worker ready received');
    w.ready = true;
    this.startFailures = 0;
    this.dispatch();
  }

  private attach(child: ChildProcess, heapMB: number | undefined, id: number): Worker {
    const w = new Worker(child, heapMB, id);
    this.workers.add(w);
    child.on('message', (m: FromWorker) => {
      if (m.type === 'ready') {
        this.workerReady(w);
        return;
      }
      if (m.type === 'spawned') {
        w.spawned.add(m.pid);
        return;
      }
      if (m.type === 'inspector') {
        if (w.current) this.options.onInspector?.(w.current.job, m.url);
        return;
      }
      if (m.type === 'done' && w.current) {
        w.current.done = m.result;
        for (const stream of m.empty ?? []) w.current.empty[stream] = true;
        w.spawned.clear();
        if (m.retire) {
          // A diagnostic for flowrun's own tests and benchmarks: why workers are not reused.
          if (process.env.FLOWRUN_DEBUG_RETIRE) process.stderr.write(`flowrun: worker ${w.id} retired: ${m.retire}\n`);
          this.retire(w);
        }
        void this.finish(w, w.current);
      }
    });
    child.on('exit', (code, signal) => {
      this.workers.delete(w);
      // The task's children die with it (they could still be writing into its log).
      killTaskProcesses(child.pid, [...w.spawned], false);
      const cur = w.current;
      w.current = undefined;
      if (cur && !cur.done) void this.settle(cur, { ok: false, error: crashError(cur.job, code, signal, cur.aborted, readTail(cur.files.stderr, 64 << 10), cur.heapMB) });
      if (!w.ready && !w.retiring && ++this.startFailures >= MAX_START_FAILURES) this.failQueue(w, code, signal);
      if (!this.closed) this.dispatch();
    });
    child.on('error', () => {
      /* 'exit' follows and reports it */
    });
    return w;
  }

  /** Workers keep dying before they start: fail the waiting tasks of that kind instead of respawning forever. */
  private failQueue(w: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    this.startFailures = 0;
    const stuck = this.queue.filter((p) => p.heapMB === w.heapMB);
    for (const p of stuck) this.queue.splice(this.queue.indexOf(p), 1);
    for (const p of stuck) {
      p.resolve({
        result: {
          ok: false,
          error: {
            code: 'TASK_CRASHED',
            step: p.job.step,
            exitCode: ExitCode.runFailed,
            data: { exitCode: code, signal },
            message: `Task ${p.job.step}/${p.job.taskId} could not start: its worker process exited ${signal ? `by ${signal}` : `with code ${code}`} ${MAX_START_FAILURES} times before it was ready${w.heapMB ? ` (heap limit ${w.heapMB} MiB from @resources)` : ''}.`,
            fix: w.heapMB ? 'Raise @resources({ memory }): a Node worker needs at least ~32 MiB.' : 'Reinstall flowrun (npm ci); its worker script may be missing.',
          },
        },
        logs: NO_LOGS,
      });
    }
  }

  /** The worker finished the attempt: its output is complete once the live view has caught up. */
  private async finish(w: Worker, cur: Attempt): Promise<void> {
    await this.settle(cur, cur.done!);
    if (w.current !== cur) return;
    for (const stream of ['stdout', 'stderr'] as const) if (cur.empty[stream]) w.empty[stream] = cur.files[stream];
    w.current = undefined;
    if (w.tasksRun >= (this.options.recycleAfter ?? 500)) this.retire(w);
    this.dispatch();
  }

  private async settle(cur: Attempt, result: TaskResult): Promise<void> {
    await cur.follower?.finish().catch(() => undefined);
    // Stopped (timeout, Ctrl-C) while its result was on its way: it counts as stopped, as it would a moment later.
    const final = cur.aborted && result.ok ? { ok: false as const, error: crashError(cur.job, null, 'SIGKILL', cur.aborted, '', cur.heapMB) } : result;
    const source = (stream: Stream) => (cur.empty[stream] ? { text: '' } : { file: cur.files[stream] });
    cur.resolve({ result: final, logs: { stdout: source('stdout'), stderr: source('stderr') } });
  }

  private retire(w: Worker): void {
    if (w.retiring) return;
    w.retiring = true;
    if (w.child.connected) w.child.send({ type: 'exit' } satisfies ToWorker);
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
  return { ...base, code: 'TASK_CRASHED', message: `Task ${job.step}/${job.taskId}: its process ${how} (for example process.exit() or a native crash).`, fix: "See the task's stderr (flow logs) for what happened before it stopped.", data: { exitCode: code, signal } };
}
