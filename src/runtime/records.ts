import type { FlowErrorJson } from '../errors/index.js';
import type { Literal } from '../decorators/types.js';
import type { NextCall } from '../flow/flowspec.js';

/** A position inside foreach fan-outs: which split of which step this task belongs to. */
export interface ForeachFrame {
  step: string;
  index: number;
  count: number;
}

export interface ArtifactRef {
  hash: string;
  /** Size in bytes of the encoded artifact object. */
  size: number;
}

export type RunStatus = 'running' | 'ok' | 'failed' | 'interrupted';
export type TaskStatus = 'ok' | 'failed';

export interface AttemptRecord {
  attempt: number;
  started: string;
  finished: string;
  durationMs: number;
  status: TaskStatus;
  error?: FlowErrorJson;
}

/** runs/<run>/tasks/<step>/<task>.json, written once the task's objects are stored. */
export interface TaskRecord {
  schema: 'flowrun.task/1';
  run: string;
  step: string;
  /** Split indices joined by '.', or '0' outside any foreach: the same task gets the same id in every run. */
  id: string;
  stack: ForeachFrame[];
  /** Pathspecs (`step/id`) of the tasks this one read artifacts from, in input order. */
  parents: string[];
  status: TaskStatus;
  attempts: AttemptRecord[];
  artifacts: Record<string, ArtifactRef>;
  logs: { stdout: string; stderr: string };
  next?: NextCall & { count?: number };
  /** The error stored by @catchError (the task is ok, the flow continued). */
  caught?: FlowErrorJson;
  /** `run/step/id` of the task this one was cloned from by `flow resume`. */
  clonedFrom?: string;
}

export interface StepSummary {
  tasks: number;
  ok: number;
  failed: number;
}

/** runs/<run>/run.json: written when the run starts and again when it ends. */
export interface RunRecord {
  schema: 'flowrun.run/1';
  id: string;
  flow: string;
  /** The flow file, relative to the project root. */
  file: string;
  status: RunStatus;
  params: Record<string, Literal>;
  seed: number;
  tags: string[];
  started: string;
  finished?: string;
  durationMs?: number;
  host: string;
  pid: number;
  flowrunVersion: string;
  node: string;
  /** Step names in topological order and their types. */
  steps: Array<{ name: string; type: string }>;
  summary?: Record<string, StepSummary>;
  /** The task failure that failed the run. */
  error?: FlowErrorJson & { task?: string };
  /** For `flow resume`: the run it continues and the step it reran from. */
  origin?: { run: string; step: string };
  git: null;
}

export const runDir = (run: string) => `runs/${run}`;
export const runRecordPath = (run: string) => `runs/${run}/run.json`;
export const taskRecordPath = (run: string, step: string, id: string) => `runs/${run}/tasks/${step}/${id}.json`;

export function taskIdOf(stack: readonly ForeachFrame[]): string {
  return stack.length === 0 ? '0' : stack.map((f) => f.index).join('.');
}
