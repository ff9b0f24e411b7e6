import type { StepSettings } from '../decorators/settings.js';
import type { TaskJob } from '../task/protocol.js';
import type { TaskOutcome, WorkerPool } from './pool.js';

/**
 * Where a task attempt runs (DESIGN §1 "backends"). The scheduler decides what is ready and
 * records what happened; a backend only runs attempts and reports how each ended. Retries,
 * @timeout accounting, @catchError and records stay in the scheduler, so a task behaves the same
 * whichever backend ran it.
 */
export interface TaskBackend {
  readonly name: string;
  /** Attempts it accepts at once; the scheduler keeps the rest queued. */
  readonly capacity: number;
  /**
   * Runs one attempt. `onStart` is called when it really starts (a worker took it, a Batch job
   * reached RUNNING): @timeout counts from there. Attempts handed over in the same tick may be
   * run together (the Batch backend turns a foreach into one array job).
   */
  run(job: TaskJob, settings: StepSettings, onStart?: () => void): Promise<TaskOutcome>;
  /** Stops an attempt (timeout or interrupt); its outcome says why. */
  abort(job: TaskJob, reason: 'timeout' | 'interrupt'): void;
}

/** The local backend: the pool of forked workers on this machine. */
export class LocalBackend implements TaskBackend {
  readonly name = 'local';

  constructor(
    private readonly pool: WorkerPool,
    readonly capacity: number,
  ) {}

  run(job: TaskJob, settings: StepSettings, onStart?: () => void): Promise<TaskOutcome> {
    return this.pool.run(job, settings.heapMB, onStart);
  }

  abort(job: TaskJob, reason: 'timeout' | 'interrupt'): void {
    this.pool.abort(job, reason);
  }
}
