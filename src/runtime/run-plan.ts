import type { FlowConfig } from '../config/config.js';
import type { Literal } from '../decorators/types.js';
import type { FlowGraph } from '../graph/types.js';
import type { CodeRecord, CondaEnvRecord, GitRecord, IncludeRecord, StepEnvRecord, TaskRecord } from '../metadata/records.js';

/**
 * What a run will do, decided before anything is written (issue #14 item 4: plan, then apply):
 * `flow run`, `flow resume`, `flow replay` and `flow cache verify` each make one with
 * `prepareRun` (src/plan/run-plan.ts), and `applyRun` (src/runtime/run.ts) carries it out. The
 * type lives here, with its consumer: src/plan/ is a layer above the runtime.
 */
export interface RunPlan {
  config: FlowConfig;
  /** The flow's graph with the --with decorators attached to every step. */
  graph: FlowGraph;
  /** Absolute path of the flow file. */
  path: string;
  params: Record<string, Literal>;
  /** @includeFile inputs pinned by the run being replayed or resumed (others are read from disk when applied). */
  includes?: Record<string, IncludeRecord>;
  /** The run's seed (undefined: a fresh one, drawn when the run starts). */
  seed?: number;
  tags: string[];
  /** Who starts the run. */
  user?: string;
  maxNumSplits: number;
  /** The step cache: --cache (true: every step), --no-cache (false: none); default: @cache() steps and .flowrc cache.default. */
  cache?: boolean;
  /** --environment=conda: honour @conda / @condaBase (Metaflow's switch). */
  environment?: 'conda';
  /** Resolve every @npm/@conda spec again instead of reusing the machine's earlier resolution. */
  refreshEnvs?: boolean;
  /** Working directory of the tasks (default: the current one). */
  cwd?: string;
  /** flow resume: the origin run and step, the origin tasks reused (by `step/id`), and its code (to warn when today's differs). */
  origin?: { run: string; step: string; reuse: ReadonlyMap<string, TaskRecord>; code?: CodeRecord; commit?: string | null };
  /**
   * flow cache verify: tasks of another run taken as they are whatever their parents did
   * (`clone`), and the records whose artifacts every task hands on (`handOn`: that run's), by `step/id`.
   */
  reuse?: { clone: ReadonlyMap<string, TaskRecord>; handOn: ReadonlyMap<string, TaskRecord> };
  /** flow replay: the run repeated, its git state (the replay runs from its code package, not a repo), and the params a what-if changed. */
  replay?: { of: string; git: GitRecord | null; whatIf?: Record<string, Literal> };
  /** flow replay: the seed each task attempt of the origin recorded (a replay draws the same numbers). */
  seedFor?: (step: string, id: string, attempt: number) => string | undefined;
  /** flow replay: the recorded @npm environments, installed from their locks instead of resolved. */
  recordedEnvs?: Record<string, StepEnvRecord>;
  /** flow replay: the recorded conda environments. */
  recordedConda?: Record<string, CondaEnvRecord>;
}
