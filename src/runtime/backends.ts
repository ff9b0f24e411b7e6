import type { FlowConfig } from '../config/config.js';
import type { FlowGraph } from '../graph/types.js';
import type { Store } from '../store/types.js';
import type { TaskBackend } from './backend.js';

/** What a remote backend needs of a run once its id and code package exist. */
export interface BackendRunContext {
  run: string;
  flow: string;
  /** The run's local store (objects the remote side needs are copied from it). */
  local: Store;
  /** The code package and where the flow sits in it. */
  code: { hash: string; file: string; cwd: string; lock: { name: string; hash: string } | null };
  info: (line: string) => void;
}

/** A backend readied for one run before its id exists: the steps it takes, then the backend itself. */
export interface PreparedBackend {
  readonly steps: { has(step: string): boolean };
  backend(o: BackendRunContext): TaskBackend & { close?(): void };
  close(): void;
}

/**
 * A backend other than the local worker pool (DESIGN §1 "backends"), registered by its own
 * module as Metaflow's plugins are: the runtime hands it the steps that ask for it and never
 * names one. Registering must be cheap (no SDK loaded): `prepare` loads what it needs.
 */
export interface BackendProvider {
  readonly name: string;
  /** Whether some step of the graph runs on this backend (read from its decorators). */
  wants(graph: FlowGraph): boolean;
  /** Checks settings and remote resources (queues, stores) before a run id exists. */
  prepare(config: FlowConfig, graph: FlowGraph): Promise<PreparedBackend>;
}

const providers = new Map<string, BackendProvider>();

export function registerBackend(provider: BackendProvider): void {
  providers.set(provider.name, provider);
}

/** Readies every registered backend the graph wants; a failure closes the ones already readied. */
export async function prepareBackends(config: FlowConfig, graph: FlowGraph): Promise<PreparedBackend[]> {
  const ready: PreparedBackend[] = [];
  try {
    for (const p of providers.values()) if (p.wants(graph)) ready.push(await p.prepare(config, graph));
  } catch (e) {
    for (const r of ready) r.close();
    throw e;
  }
  return ready;
}
