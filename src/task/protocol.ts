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
}

export type TaskResult =
  | { ok: true; artifacts: Record<string, ArtifactRef>; next?: NextCall; count?: number; cards?: CardRef[] }
  | { ok: false; error: FlowErrorJson & { stack?: string }; cards?: CardRef[] };

export type ToWorker =
  | { type: 'run'; job: TaskJob; logs: { stdout: string; stderr: string } }
  | { type: 'exit' };

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
