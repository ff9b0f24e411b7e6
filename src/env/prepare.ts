import semver from 'semver';
import type { DecoratorUse } from '../decorators/types.js';
import { environmentUse } from '../decorators/hooks.js';
import { ExitCode, FlowError, UsageError } from '../errors/index.js';
import type { FlowGraph } from '../graph/types.js';
import type { CondaEnvRecord, StepEnvRecord } from '../metadata/records.js';
import type { SyncStore } from '../store/types.js';
import { type CondaSpec, installCondaLock, matchSpecs, remoteTarget, resolveCondaLock } from './conda.js';
import { type NpmSpec, canonicalSpec, describeSpec, directDependencies, installNpmLock, resolveNpmLock } from './npm.js';
import { own } from '../util/own.js';
import { npmPackageNames, stringRecord } from './npm-names.js';

export { npmPackageNames };

/** A step's environment, ready for its tasks: the record and where its packages are installed. */
export interface PreparedEnv {
  record: StepEnvRecord;
  /** The installed environment's node_modules directory. */
  modules: string;
  /** Package names the step's imports resolve from the environment. */
  names: string[];
}

/** A step's conda environment, ready for its tasks: the record and the installed prefix ('' for a remote step). */
export interface PreparedConda {
  record: CondaEnvRecord;
  prefix: string;
}

export interface PrepareOptions {
  graph: FlowGraph;
  store: SyncStore;
  projectRoot: string;
  /** flow replay: the recorded environments, installed from their locks (never resolved again). */
  recorded?: Record<string, StepEnvRecord>;
  /** flow replay: the recorded conda environments. */
  recordedConda?: Record<string, CondaEnvRecord>;
  /** --environment=conda: @conda is honoured (without it a flow using @conda is refused). */
  conda?: boolean;
  /** Resolve every spec again instead of reusing an earlier resolution. */
  refresh?: boolean;
  /**
   * Steps that run on another machine (AWS Batch): their conda environments are solved for that
   * target (linux-64, with or without a GPU) and installed there, not here.
   */
  remoteSteps?: ReadonlyMap<string, { gpu: boolean }>;
  info?: (line: string) => void;
}

export interface PrepareOutcome {
  envs: Map<string, PreparedEnv>;
  conda: Map<string, PreparedConda>;
  /** Environments installed by this call (0 when every one was cached). */
  installed: number;
}

/** The @npm spec of a step: the flow's @npmBase with the step's @npm on top (per package, and node). */
export function npmSpecOf(graph: FlowGraph, step: string): NpmSpec | undefined {
  const base = environmentUse(graph.decorators, 'npm');
  const own = environmentUse(graph.steps.find((s) => s.name === step)?.decorators ?? [], 'npm');
  if (!base && !own) return undefined;
  const packages = { ...stringRecord(base, 'packages'), ...stringRecord(own, 'packages') };
  const node = stringOption(own, 'node') ?? stringOption(base, 'node');
  return canonicalSpec(node === undefined ? { packages } : { packages, node });
}

/** The @conda spec of a step: the flow's @condaBase with the step's @conda on top. */
export function condaSpecOf(graph: FlowGraph, step: string): CondaSpec | undefined {
  const base = environmentUse(graph.decorators, 'conda');
  const own = environmentUse(graph.steps.find((s) => s.name === step)?.decorators ?? [], 'conda');
  if (!base && !own) return undefined;
  const packages = Object.fromEntries(Object.entries({ ...stringRecord(base, 'packages'), ...stringRecord(own, 'packages') }).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const spec: CondaSpec = { packages };
  const python = stringOption(own, 'python') ?? stringOption(base, 'python');
  const channels = stringList(own, 'channels') ?? stringList(base, 'channels');
  if (python !== undefined) spec.python = python;
  if (channels !== undefined) spec.channels = channels;
  return spec;
}

/** Where the flow asks for a conda environment (the decorator, the line of its first use), for the --environment=conda check. */
function condaUse(graph: FlowGraph): { name: string; step?: string; line?: number } | undefined {
  const base = environmentUse(graph.decorators, 'conda');
  if (base) return { name: base.name, line: base.line };
  for (const s of graph.steps) {
    const d = environmentUse(s.decorators, 'conda');
    if (d) return { name: d.name, step: s.name, line: d.line };
  }
  return undefined;
}

/**
 * Resolves each distinct @npm spec of the flow once (or takes the recorded lock on replay),
 * stores every lock as an object, and installs each lock once into the environment cache.
 */
export async function prepareEnvironments(o: PrepareOptions): Promise<PrepareOutcome> {
  const [npm, conda] = await Promise.all([prepareNpm(o), prepareConda(o)]);
  return { envs: npm.envs, conda: conda.envs, installed: npm.installed + conda.installed };
}

async function prepareNpm(o: PrepareOptions): Promise<{ envs: Map<string, PreparedEnv>; installed: number }> {
  const bySpec = new Map<string, { spec: NpmSpec; steps: string[]; lock?: string }>();
  for (const step of o.graph.order) {
    const recorded = own(o.recorded, step);
    const spec = recorded?.spec ?? npmSpecOf(o.graph, step);
    if (!spec || Object.keys(spec.packages).length === 0) continue;
    const key = JSON.stringify([spec, recorded?.lock]);
    const group = bySpec.get(key) ?? { spec, steps: [], lock: recorded?.lock };
    group.steps.push(step);
    bySpec.set(key, group);
  }
  for (const g of bySpec.values()) checkNode(g.spec, g.steps);
  const prepared = await Promise.all(
    [...bySpec.values()].map(async (g) => {
      const lock = g.lock ? recordedLock(o.store, g.lock, g.steps) : (await resolveNpmLock(g.spec, { projectRoot: o.projectRoot, steps: g.steps, refresh: o.refresh })).lock;
      const hash = o.store.putObjectSync(lock);
      const outcome = await installNpmLock(lock, hash, { projectRoot: o.projectRoot, steps: g.steps, info: o.info });
      return { g, hash, outcome, names: Object.keys(directDependencies(lock)) };
    }),
  );
  const envs = new Map<string, PreparedEnv>();
  for (const { g, hash, outcome, names } of prepared) {
    for (const step of g.steps) envs.set(step, { record: { kind: 'npm', spec: g.spec, lock: hash }, modules: `${outcome.dir}/node_modules`, names });
  }
  return { envs, installed: prepared.filter((p) => p.outcome.installed).length };
}

/** The same for @conda: solve each distinct spec once (or take the recorded lock), store it, install it once. */
async function prepareConda(o: PrepareOptions): Promise<{ envs: Map<string, PreparedConda>; installed: number }> {
  const envs = new Map<string, PreparedConda>();
  const replaying = o.recordedConda !== undefined && Object.keys(o.recordedConda).length > 0;
  const use = condaUse(o.graph);
  if (!use && !replaying) return { envs, installed: 0 };
  if (!o.conda && !replaying) {
    throw new UsageError('CONDA_NEEDS_ENVIRONMENT', `The flow uses @${use?.name ?? 'conda'}${use?.step ? ` (step ${use.step})` : ''}, which takes effect only with --environment=conda.`, {
      file: o.graph.file,
      line: use?.line,
      step: use?.step,
      fix: `Run it with: flow run ${o.graph.file} --environment=conda`,
    });
  }
  const bySpec = new Map<string, { spec: CondaSpec; steps: string[]; lock?: string; remote?: { gpu: boolean } }>();
  for (const step of o.graph.order) {
    const recorded = own(o.recordedConda, step);
    const spec = recorded?.spec ?? (replaying ? undefined : condaSpecOf(o.graph, step));
    // python: '3.11' alone is an environment too (just the interpreter).
    if (!spec || (Object.keys(spec.packages).length === 0 && spec.python === undefined)) continue;
    const remote = o.remoteSteps?.get(step);
    const key = JSON.stringify([spec, recorded?.lock, remote ?? null]);
    const group = bySpec.get(key) ?? { spec, steps: [], lock: recorded?.lock, remote };
    group.steps.push(step);
    bySpec.set(key, group);
  }
  const prepared = await Promise.all(
    [...bySpec.values()].map(async (g) => {
      // A remote step's lock is solved for its machine (remoteTarget: linux-64 whatever this one is) and installed there.
      const target = g.remote ? remoteTarget({ gpu: g.remote.gpu }) : undefined;
      const lock = g.lock ? recordedLock(o.store, g.lock, g.steps, 'conda') : (await resolveCondaLock(g.spec, { steps: g.steps, refresh: o.refresh, target })).lock;
      const hash = o.store.putObjectSync(lock);
      const outcome = g.remote ? { dir: '', installed: false } : await installCondaLock(lock, hash, { steps: g.steps, info: o.info, specs: matchSpecs(g.spec) });
      return { g, hash, outcome };
    }),
  );
  for (const { g, hash, outcome } of prepared) {
    for (const step of g.steps) envs.set(step, { record: { kind: 'conda', spec: g.spec, lock: hash }, prefix: outcome.dir });
  }
  return { envs, installed: prepared.filter((p) => p.outcome.installed).length };
}

function recordedLock(store: SyncStore, hash: string, steps: string[], kind = 'npm'): Buffer {
  try {
    return store.getObjectSync(hash);
  } catch (e) {
    throw new FlowError('ENV_LOCK_MISSING', `The recorded ${kind} lock ${hash.slice(0, 12)} of step ${steps.join(', ')} cannot be read from the store.`, {
      exitCode: ExitCode.storeIntegrity,
      step: steps[0],
      fix: 'Run flow fsck; a copy of the store (or flow pull) can restore the lock object.',
      cause: e,
    });
  }
}

/** flowrun runs every step on the Node.js it runs on, so a step asking for another fails before the run starts. */
function checkNode(spec: NpmSpec, steps: string[]): void {
  if (spec.node === undefined) return;
  if (semver.validRange(spec.node) === null) {
    throw new UsageError('ENV_NODE_RANGE', `${describeSpec(spec)} of step ${steps.join(', ')}: node '${spec.node}' is not a version range.`, { step: steps[0], fix: "Write a semver range, e.g. node: '>=20'." });
  }
  if (!semver.satisfies(process.version, spec.node)) {
    throw new UsageError('ENV_NODE_MISMATCH', `${describeSpec(spec)} of step ${steps.join(', ')} needs Node ${spec.node}, but this is Node ${process.version}.`, {
      step: steps[0],
      fix: `Run flow with a Node.js that satisfies ${spec.node}, or widen the range.`,
    });
  }
}

function stringList(d: DecoratorUse | undefined, key: string): string[] | undefined {
  const v = own(d?.options, key);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}

function stringOption(d: DecoratorUse | undefined, key: string): string | undefined {
  const v = own(d?.options, key);
  return typeof v === 'string' ? v : undefined;
}
