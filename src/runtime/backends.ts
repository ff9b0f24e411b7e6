import type { FlowConfig } from '../config/config.js';
import { stepBackend } from '../decorators/hooks.js';
import type { FlowGraph, StepNode } from '../graph/types.js';
import type { Store } from '../store/types.js';
import type { TaskBackend } from './backend.js';

/** What a remote backend needs of a run once its id and code package exist. */
export interface BackendRunContext {
  run: string;
  flow: string;
  /** The run's local store (objects the remote side needs are copied from it). */
  local: Store;
  /** The code package and where the flow sits in it. */
  code: { hash: string; file: string; cwd: string };
  /** The flow file as given, and the project root (the remote side compiles the same flow). */
  path: string;
  projectRoot: string;
  /** Packages the flow's @npm environments provide (resolved from them, not the project). */
  envPackages: ReadonlySet<string>;
  info: (line: string) => void;
}

/** The environments a run's steps use, once solved and installed here (before its id exists). */
export interface RunEnvironments {
  projectRoot: string;
  /** The project's recorded lock file (name, sha256 of its bytes), if any. */
  project: { name: string; hash: string } | null;
  npm: ReadonlyMap<string, { lock: string; names: string[] }>;
  conda: ReadonlyMap<string, { lock: string; specs: string[] }>;
}

/** A backend readied for one run before its id exists: the steps it takes, then the backend itself. */
export interface PreparedBackend {
  readonly steps: { has(step: string): boolean };
  /** Its steps' environments are solved for its machines (e.g. linux-64 with a GPU), not this one. */
  readonly remoteSteps: ReadonlyMap<string, { gpu: boolean }>;
  /** Makes the steps' environments available to its machines (before the run id is allocated). */
  prepareEnvironments(envs: RunEnvironments, local: Store, info: (line: string) => void): Promise<void>;
  backend(o: BackendRunContext): TaskBackend & { close?(): void };
  close(): void;
}

/**
 * A backend other than the local worker pool (DESIGN §1 "backends"), registered by its own
 * module as Metaflow's plugins are: the runtime hands it the steps whose decorators select it
 * (their `backend` hook names it) and never names one. Registering must be cheap (no SDK
 * loaded): `prepare` loads what it needs.
 */
export interface BackendProvider {
  /** The name a decorator's `backend` hook selects it by. */
  readonly name: string;
  /** Checks settings and remote resources (queues, stores) before a run id exists. */
  prepare(config: FlowConfig, graph: FlowGraph): Promise<PreparedBackend>;
}

const providers = new Map<string, BackendProvider>();

/** Whether the step runs on this backend: one of its decorators selects it. */
export function takes(provider: BackendProvider, step: StepNode): boolean {
  return stepBackend(step.decorators) === provider.name;
}

export function registerBackend(provider: BackendProvider): void {
  providers.set(provider.name, provider);
}

/** Readies every registered backend the graph wants; a failure closes the ones already readied. */
export async function prepareBackends(config: FlowConfig, graph: FlowGraph): Promise<PreparedBackend[]> {
  const ready: PreparedBackend[] = [];
  try {
    for (const p of providers.values()) if (graph.steps.some((s) => takes(p, s))) ready.push(await p.prepare(config, graph));
  } catch (e) {
    for (const r of ready) r.close();
    throw e;
  }
  return ready;
}

/** Whether some step runs on the local worker pool (no registered backend takes it). */
export function hasLocalSteps(graph: FlowGraph): boolean {
  return graph.steps.some((s) => ![...providers.values()].some((p) => takes(p, s)));
}
