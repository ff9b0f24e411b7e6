import type { FlowConfig } from '../config/config.js';
import type { DecoratorUse, Literal } from '../decorators/types.js';
import { applyWith } from '../graph/with.js';
import type { FlowGraph } from '../graph/types.js';
import { parseParams, resolveParams } from '../runtime/params.js';
import type { RunPlan } from '../runtime/run-plan.js';
import { type OriginRecords, recordedSeeds, uncachedTasks } from './origin.js';
import { type ResumePlan, resumePlan } from './resume.js';

/** What a plan is made from: the loaded flow, the command's flags and, for a replay, the origin's records. */
export interface RunInput {
  config: FlowConfig;
  /** The flow's graph as extracted from its file. */
  graph: FlowGraph;
  path: string;
  /** --with decorators (parsed), attached to every step. */
  with?: DecoratorUse[];
  /** The flow's parameters as given on the command line (`--alpha 0.1`). */
  paramArgv: readonly string[];
  seed?: number;
  tags?: string[];
  user?: string;
  maxNumSplits: number;
  cache?: boolean;
  environment?: 'conda';
  refreshEnvs?: boolean;
  /** flow resume: the params will be the origin's (resumeFrom), so none is resolved or required here. */
  resuming?: boolean;
  /** flow replay: the origin's records, where the replay's tasks run, and whether only its cached tasks are recomputed (flow cache verify). */
  replay?: { origin: OriginRecords; cwd: string; cachedOnly?: boolean };
}

export type { RunPlan };

/** A resume's plan, with what it reuses (for the line said before it starts). */
export interface ResumedRun {
  plan: RunPlan;
  resume: ResumePlan;
}

/**
 * Turns a command's inputs into the run plan, checking them (decorators attached with --with,
 * parameters) before anything is written: an error here is a usage error (exit 2) and leaves no
 * trace. Pure: a replay's origin records are read by the caller. A resume is made from this plan
 * with resumeFrom.
 */
export function prepareRun(input: RunInput): RunPlan {
  const graph = applyWith(input.graph, input.with ?? []);
  // A resume runs with its origin's params (resumeFrom): none is parsed or required here.
  const given = input.resuming ? {} : parseParams(graph, input.paramArgv);
  const base: RunPlan = {
    config: input.config,
    graph,
    path: input.path,
    params: input.resuming ? {} : resolveParams(graph, given),
    seed: input.seed,
    tags: input.tags ?? [],
    user: input.user,
    maxNumSplits: input.maxNumSplits,
    cache: input.cache,
    environment: input.environment,
    refreshEnvs: input.refreshEnvs,
  };
  return input.replay ? replayed(base, given, input.replay) : base;
}

/**
 * flow resume: the plan of a run (its flags checked first, before the origin is read) turned into
 * a resume of `origin`: its params, seed and inputs, reusing the tasks the resume plan picked
 * (from `step` on, when named, everything reruns). Pure.
 */
export function resumeFrom(base: RunPlan, origin: OriginRecords, step: string | undefined): ResumedRun {
  const resume = resumePlan(base.graph, origin, step);
  const { record } = origin;
  const plan: RunPlan = {
    ...base,
    params: record.params,
    seed: record.seed,
    includes: record.includes,
    origin: { run: record.id, step: resume.step, reuse: resume.reuse, code: record.code, commit: record.git?.commit },
  };
  return { plan, resume };
}

/**
 * A replay runs its origin's params (with any given on the command line: a what-if), seed, inputs
 * and environments; nothing comes from the step cache (a replay proves a run by computing it again).
 */
function replayed(base: RunPlan, overrides: Record<string, Literal>, r: NonNullable<RunInput['replay']>): RunPlan {
  const { record } = r.origin;
  const whatIf = Object.keys(overrides).length > 0;
  const clone = r.cachedOnly ? uncachedTasks(r.origin) : undefined;
  const handOn = new Map(
    Object.values(r.origin.tasks)
      .flat()
      .map((t) => [`${t.step}/${t.id}`, t]),
  );
  return {
    ...base,
    params: { ...resolveParams(base.graph, {}), ...record.params, ...overrides },
    includes: record.includes ?? {},
    seed: record.seed,
    seedFor: recordedSeeds(r.origin),
    // The origin's user tags are not copied (a replay is its own kind of run); a cache verification says what it is.
    tags: [...base.tags, ...(r.cachedOnly ? ['cache-verify'] : [])],
    ...(clone ? { reuse: { clone, handOn } } : {}),
    cwd: r.cwd,
    recordedEnvs: record.stepEnvs,
    recordedConda: record.condaEnvs,
    replay: { of: record.id, git: record.git, ...(whatIf ? { whatIf: overrides } : {}) },
    cache: false,
  };
}
