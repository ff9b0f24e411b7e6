import type { Literal } from '../decorators/types.js';
import type { FlowErrorJson } from '../errors/index.js';
import type { NextCall } from '../flow/flowspec.js';
import type { ArtifactRef, IncludeRecord } from '../metadata/records.js';
import type { TaskNpmEnv } from './env-resolution.js';
import type { CardRef } from '../cards/card.js';

/** Everything a worker needs to run one task attempt; plain data sent over IPC. */
export interface TaskJob {
  run: string;
  flow: string;
  step: string;
  taskId: string;
  attempt: number;
  modulePath: string;
  storeRoot: string;
  /** Values of every parameter (installed before the flow is constructed). */
  params: Record<string, Literal>;
  /** @includeFile inputs: object hashes whose content replaces the path in `params`. */
  includes?: Record<string, IncludeRecord>;
  seed: number;
  /**
   * This attempt's Math.random seed (hex; see taskSeed): the scheduler derives it, or a replay
   * passes the one its origin recorded. Absent: derived in the worker.
   */
  taskSeed?: string;
  /** Run-level facts a step reads through `current`. */
  context?: RunFacts;
  /** Artifacts the task starts with (linear steps: its parent's). */
  inherited: Record<string, ArtifactRef>;
  /** For joins: each input's artifacts, in input order. */
  inputs?: Array<{ task: string; artifacts: Record<string, ArtifactRef> }>;
  /** For a task inside a foreach: the split artifact of the parent and this task's index. */
  foreach?: { artifact: ArtifactRef; index: number };
  /** The foreach field this step fans out over, when it is a foreach step. */
  splitField?: string;
  maxNumSplits: number;
  /** @environment variables. */
  env: Record<string, string>;
  /** @npm: the step's installed environment, whose packages its imports resolve to. */
  npm?: TaskNpmEnv;
  /**
   * flow spin --inspect-brk: open the Node inspector here, wait for a debugger to attach, and
   * pause just before the step is called.
   */
  inspect?: { host: string; port: number };
  /** Record what the task reads (the step cache keys a task by it): see TaskReads. */
  trackReads?: boolean;
}

/**
 * What a task read while it ran, by name (the orchestrator knows the hashes): the inputs a
 * step cache entry depends on. Reading an artifact means calling its getter, so spreading or
 * printing `this` reads everything; a value the step only overwrites is not read.
 */
export interface TaskReads {
  /** Inherited artifacts read (a linear or foreach step). */
  artifacts: string[];
  /** A join: per input, in input order, the artifacts read or compared by mergeArtifacts. */
  inputs?: string[][];
  /** Parameters read (and @includeFile inputs). */
  params: string[];
  /** `this.input` was read (a foreach task's item). */
  item?: true;
  /** Math.random was called: the outputs depend on the seed. */
  random?: true;
  /** The clock was read (Date.now, new Date(), Date()): the outputs may depend on when it ran. */
  clock?: true;
  /** Outputs passed on untouched and unread: inherited artifacts (by name) and parameters. */
  carried: { artifacts: string[]; params: string[] };
}

/** What `current` tells a step about its run (the task-level facts are the job's own fields). */
export interface RunFacts {
  tags: string[];
  user: string;
  /** The run `flow resume` continues. */
  origin?: string;
  /** The run `flow replay` repeats. */
  replayOf?: string;
  whatIf?: boolean;
}

export type TaskResult = { ok: true; artifacts: Record<string, ArtifactRef>; next?: NextCall; count?: number; cards?: CardRef[]; reads?: TaskReads } | { ok: false; error: FlowErrorJson & { stack?: string }; cards?: CardRef[] };

export type ToWorker = { type: 'run'; job: TaskJob; logs: { stdout: string; stderr: string } } | { type: 'exit' };

export type FromWorker =
  | { type: 'ready' }
  /** The inspector of a task run with `inspect` is listening at this ws:// URL, waiting for a debugger. */
  | { type: 'inspector'; url: string }
  /** A process the task started that leads its own group (detached): killed with the task. */
  | { type: 'spawned'; pid: number }
  /**
   * `retire`: why the worker cannot run another task (state it could not put back). `empty`:
   * streams the task wrote nothing to; their files stay open for the worker's next task.
   */
  | { type: 'done'; result: TaskResult; retire?: string; empty?: Array<'stdout' | 'stderr'> };
