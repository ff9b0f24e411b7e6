import type { FlowErrorJson } from '../errors/index.js';
import type { ArtifactRef, AttemptRecord, NextCall } from './records.js';

/** How one artifact of a spun task compares with the recorded task's. */
export interface SpinArtifactCheck {
  artifact: string;
  status: 'same' | 'changed' | 'added' | 'removed';
  /** The recorded task's object (absent when added). */
  from?: string;
  /** The spin's object (absent when removed). */
  to?: string;
  /** old → new for small values, field by field for objects, shapes for big ones. */
  detail?: string;
}

/**
 * spins/<spin>/spin.json: one task of a past run rerun by `flow spin` with the current code on
 * the run's recorded inputs. Kept apart from runs/: a spin is scratch work, never a run (no
 * listing, resume, replay, push), and the run it reran is never changed.
 */
export interface SpinRecord {
  schema: 'flowrun.spin/1';
  id: string;
  /** The task rerun: run, step and task id. */
  of: { run: string; step: string; task: string };
  flow: string;
  /** The flow file (project-relative) whose current code ran. */
  file: string;
  status: 'running' | 'ok' | 'failed';
  started: string;
  finished?: string;
  /** The run's seed and the recorded attempt number the spin drew its Math.random from. */
  seed: number;
  attempt?: AttemptRecord;
  artifacts?: Record<string, ArtifactRef>;
  next?: NextCall & { count?: number };
  error?: FlowErrorJson;
  /** Every artifact against the recorded task's. */
  checks?: SpinArtifactCheck[];
}

export const spinRecordPath = (id: string) => `spins/${id}/spin.json`;
