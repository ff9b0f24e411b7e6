import { FlowError } from '../errors/index.js';

/**
 * What a step can know about the task it runs in (Metaflow's `current`): set by the worker for
 * each task attempt, read through `current`. Plain data, the same on a local worker and in a
 * Batch container.
 */
export interface TaskContextData {
  flowName: string;
  runId: string;
  stepName: string;
  taskId: string;
  attempt: number;
  seed: number;
  taskSeed: string;
  tags: string[];
  username: string;
  originRunId?: string;
  replayOf?: string;
  whatIf: boolean;
}

/** The run context of the running task, read-only. */
export interface RunContext {
  /** The flow's name (its class name). */
  readonly flowName: string;
  /** `run-41`. */
  readonly runId: string;
  readonly stepName: string;
  /** `0`, or the split indices of a foreach task (`3`, `1.2` when nested). */
  readonly taskId: string;
  /** `run-41/fit/3`: what `flow get`, `flow logs` and `flow inspect` take. */
  readonly pathspec: string;
  /** This attempt, from 0 (`@retry` attempts count up; Metaflow's retry_count). */
  readonly attempt: number;
  /** The run's seed (`--seed`, or the random one recorded). */
  readonly seed: number;
  /** This attempt's Math.random seed (128 bits, hex): differs per task and per attempt; a replay repeats it. */
  readonly taskSeed: string;
  /** The run's tags as it started (`flow tag add` later does not change what a running step sees). */
  readonly tags: readonly string[];
  /** Who started the run (--user, FLOW_USER or the OS account). */
  readonly username: string;
  /** `user:<username>`: the client namespace this run is listed in. */
  readonly namespace: string;
  /** The run `flow resume` continues, when this run is a resume. */
  readonly originRunId: string | undefined;
  /** The run this one replays (`flow replay`), including a what-if. */
  readonly replayOf: string | undefined;
  readonly isReplay: boolean;
  /** A what-if replay: a replay with changed params (it is not verified). */
  readonly isWhatIf: boolean;
  /** True inside a task; the other fields throw elsewhere. */
  readonly isRunningFlow: boolean;
}

// On globalThis under a registered symbol: the worker's flowrun and the one a flow imports may be two copies.
const SLOT: unique symbol = Symbol.for('flowrun.current') as never;
type Slotted = Record<typeof SLOT, TaskContextData | undefined>;

/** Called by the worker as a task attempt starts (and with undefined when it ends). */
export function setTaskContext(data: TaskContextData | undefined): void {
  (globalThis as unknown as Slotted)[SLOT] = data === undefined ? undefined : Object.freeze({ ...data, tags: Object.freeze([...data.tags]) as string[] });
}

function data(field: string): TaskContextData {
  const d = (globalThis as unknown as Slotted)[SLOT];
  if (!d) {
    throw new FlowError('NOT_IN_TASK', `current.${field} is only defined while a step runs (this code runs outside a task).`, {
      fix: 'Read current inside a @step method (or check current.isRunningFlow first).',
    });
  }
  return d;
}

/**
 * The run context of the task this code runs in.
 *
 * @example
 * import { FlowSpec, step, current } from 'flowrun';
 * class Train extends FlowSpec {
 *   @step start() {
 *     console.log(`${current.pathspec}, attempt ${current.attempt}, by ${current.username}`);
 *     this.next(this.end);
 *   }
 * }
 */
export const current: RunContext = Object.freeze({
  get flowName() {
    return data('flowName').flowName;
  },
  get runId() {
    return data('runId').runId;
  },
  get stepName() {
    return data('stepName').stepName;
  },
  get taskId() {
    return data('taskId').taskId;
  },
  get pathspec() {
    const d = data('pathspec');
    return `${d.runId}/${d.stepName}/${d.taskId}`;
  },
  get attempt() {
    return data('attempt').attempt;
  },
  get seed() {
    return data('seed').seed;
  },
  get taskSeed() {
    return data('taskSeed').taskSeed;
  },
  get tags() {
    return data('tags').tags;
  },
  get username() {
    return data('username').username;
  },
  get namespace() {
    return `user:${data('namespace').username}`;
  },
  get originRunId() {
    return data('originRunId').originRunId;
  },
  get replayOf() {
    return data('replayOf').replayOf;
  },
  get isReplay() {
    return data('isReplay').replayOf !== undefined;
  },
  get isWhatIf() {
    return data('isWhatIf').whatIf;
  },
  get isRunningFlow() {
    return (globalThis as unknown as Slotted)[SLOT] !== undefined;
  },
});
