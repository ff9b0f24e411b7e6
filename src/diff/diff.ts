import type { Literal } from '../decorators/types.js';
import type { LockedPackage } from '../env/npm.js';
import type { ManifestEntry, RunRecord, TaskRecord } from '../metadata/records.js';
import { compareTaskIds } from '../metadata/task-ids.js';
import type { FlowGraph } from '../graph/types.js';
import { own } from '../util/own.js';
import type { FieldChange } from './values.js';
import { type Cause, Explainer, sortCauses } from './why.js';

/** What diffRuns needs of one run: its records (and, when known, its code manifest). */
export interface RunView {
  record: RunRecord;
  /** Task records by step. */
  tasks: Record<string, TaskRecord[]>;
  manifest?: ManifestEntry[];
  /** Packages of the run's @npm and @conda locks, by lock hash (read from the store). */
  locks?: Record<string, LockedPackage[]>;
  /** The flow's graph as read from the run's code package: what each step reads, its source hash. */
  graph?: FlowGraph;
}

/** A package that differs between two runs' locks of one step. */
export interface EnvPackageChange {
  step: string;
  manager: 'npm' | 'conda';
  /** Install path in node_modules (differs from the name for nested packages). */
  path: string;
  name: string;
  kind: 'added' | 'removed' | 'changed';
  from?: string;
  to?: string;
}

export interface ValueChange<T> {
  from: T | undefined;
  to: T | undefined;
}

export interface ArtifactChange {
  task: string;
  artifact: string;
  kind: 'added' | 'removed' | 'changed';
  from?: string;
  to?: string;
  /** Filled in later for small values (old → new) or a structural summary. */
  detail?: string;
  /** For objects, arrays and Maps: the fields that differ (the first few), each side summarized. */
  fields?: FieldChange[];
}

export interface StepDiff {
  step: string;
  status: ValueChange<string>;
  tasks: ValueChange<number>;
  attempts: ValueChange<number>;
  durationMs: ValueChange<number>;
  artifacts: ArtifactChange[];
  /** Task ids present in only one run (foreach split counts differ). */
  onlyInA: string[];
  onlyInB: string[];
  /** Why its artifacts differ (when some do): the differing run inputs it depends on (why.ts). */
  why?: Cause[];
  /** Tasks reused from the step cache in each run. */
  cached: ValueChange<number>;
}

/** How much of each run came from the step cache (when either used it): tasks reused and the runs they came from. */
export interface CacheUse {
  reused: number;
  tasks: number;
  from: string[];
}

export interface RunDiff {
  schema: 'flowrun.diff/1';
  a: string;
  b: string;
  flow: string;
  code: {
    commit: ValueChange<string | null>;
    dirty: ValueChange<boolean>;
    packageSame: boolean;
    added: string[];
    removed: string[];
    changed: string[];
    /** Unified diffs of changed files, with --code. */
    patches?: Record<string, string>;
  };
  params: Array<{ name: string } & ValueChange<Literal>>;
  /** The runs' seeds (Math.random in every task derives from it), whether or not they differ. */
  seed: ValueChange<number>;
  /** @includeFile inputs whose content (hash) changed, even when the path is the same. */
  inputs: Array<{ name: string; path: ValueChange<string>; hash: ValueChange<string>; size: ValueChange<number> }>;
  env: Array<{ what: string } & ValueChange<string | null>>;
  /** Package-level changes of the steps whose @npm lock differs. */
  envPackages: EnvPackageChange[];
  steps: StepDiff[];
  /** Not a difference in results: where each run's tasks came from. */
  cache?: { a: CacheUse; b: CacheUse };
  /** Which sections differ; empty when the runs are the same. */
  differs: string[];
  /** Steps whose artifacts differ only because the seed does (nothing else they depend on differs). */
  seedOnly: string[];
  verdict: string;
}

/** Compares two runs of the same flow. Pure: every input is data, nothing is read. */
export function diffRuns(a: RunView, b: RunView): RunDiff {
  const code = diffCode(a, b);
  const params = diffParams(a.record.params, b.record.params);
  const inputs = diffInputs(a.record, b.record);
  const env = diffEnv(a.record, b.record);
  const envPackages = diffEnvPackages(a, b);
  const paramNames = new Set([...Object.keys(a.record.params), ...Object.keys(b.record.params)]);
  const ctx: StepContext = { params: paramNames, a: taskIndex(a), b: taskIndex(b) };
  const steps = unionInOrder(
    a.record.steps.map((s) => s.name),
    b.record.steps.map((s) => s.name),
  ).map((s) => diffStep(s, own(a.tasks, s) ?? [], own(b.tasks, s) ?? [], ctx));
  const seed = { from: a.record.seed, to: b.record.seed };
  explainSteps(steps, a, b, ctx, { paramNames, params, inputs, env, code, seed: seed.from !== seed.to });
  const seedOnly = steps.filter((s) => s.why?.length === 1 && s.why[0]!.kind === 'seed').map((s) => s.step);
  const differs: string[] = [];
  if (!code.packageSame || code.commit.from !== code.commit.to) differs.push('code');
  if (params.length) differs.push('params');
  if (seed.from !== seed.to) differs.push('seed');
  if (inputs.length) differs.push('inputs');
  if (env.length) differs.push('environment');
  const changedSteps = steps.filter((s) => s.artifacts.length || s.onlyInA.length || s.onlyInB.length || s.status.from !== s.status.to);
  if (changedSteps.length) differs.push('artifacts');
  if (a.record.status !== b.record.status) differs.push('status');
  const nArtifacts = steps.reduce((n, s) => n + s.artifacts.length, 0);
  const seedNote =
    seedOnly.length === 0 ? '' : seedOnly.length === changedSteps.filter((s) => s.artifacts.length).length ? `; every artifact change follows from the seed (${seed.from} → ${seed.to}) alone` : `; ${seedOnly.join(', ')} differ${seedOnly.length === 1 ? 's' : ''} only because the seed does (${seed.from} → ${seed.to})`;
  const verdict =
    differs.length === 0
      ? `${a.record.id} and ${b.record.id} are the same: code, params, seed, environment and every artifact hash match`
      : `${a.record.id} and ${b.record.id} differ in ${differs.join(', ')}${nArtifacts ? ` (${nArtifacts} artifact change${nArtifacts === 1 ? '' : 's'} in ${changedSteps.map((s) => s.step).join(', ')})` : ''}${seedNote}`;
  const cache = a.record.cache || b.record.cache ? { a: cacheUse(a), b: cacheUse(b) } : undefined;
  return { schema: 'flowrun.diff/1', a: a.record.id, b: b.record.id, flow: a.record.flow, code, params, seed, inputs, env, envPackages, steps, ...(cache ? { cache } : {}), differs, seedOnly, verdict };
}

/** Fills in each changed step's `why`: the union of its changed tasks' causes. */
function explainSteps(steps: StepDiff[], a: RunView, b: RunView, ctx: StepContext, d: { paramNames: Set<string>; params: RunDiff['params']; inputs: RunDiff['inputs']; env: RunDiff['env']; code: RunDiff['code']; seed: boolean }): void {
  const includeNames = new Set([...Object.keys(a.record.includes ?? {}), ...Object.keys(b.record.includes ?? {})]);
  const flowFiles = new Set([a.record.file, b.record.file]);
  const codeFiles = [...d.code.added, ...d.code.removed, ...d.code.changed];
  const global = new Set(['node', 'flowrun', 'os', 'working directory']);
  const explainer = new Explainer(
    { graph: a.graph, tasks: ctx.a },
    { graph: b.graph, tasks: ctx.b },
    {
      paramNames: d.paramNames,
      params: new Set(d.params.map((p) => p.name).filter((n) => !includeNames.has(n))),
      inputs: new Set(d.inputs.map((i) => i.name)),
      seed: d.seed,
      code: !d.code.packageSame,
      otherCode: codeFiles.some((f) => !flowFiles.has(f)) || (a.graph?.moduleSource !== undefined && b.graph?.moduleSource !== undefined && a.graph.moduleSource !== b.graph.moduleSource),
      environment: (step) => d.env.some((e) => global.has(e.what) || e.what === `env lock of ${step}`),
    },
  );
  for (const s of steps) {
    const tasks = [...new Set(s.artifacts.map((c) => c.task))];
    if (tasks.length === 0) continue;
    const causes = new Map<string, Cause>();
    for (const t of tasks) for (const c of explainer.causes(s.step, t.slice(s.step.length + 1))) causes.set(JSON.stringify(c), c);
    s.why = sortCauses([...causes.values()]);
  }
}

function cacheUse(v: RunView): CacheUse {
  const tasks = Object.values(v.tasks).flat();
  const reused = tasks.filter((t) => t.cachedFrom !== undefined);
  return { reused: reused.length, tasks: tasks.length, from: [...new Set(reused.map((t) => t.cachedFrom!.split('/')[0]!))].sort() };
}

function diffCode(a: RunView, b: RunView): RunDiff['code'] {
  const ma = new Map((a.manifest ?? []).map((f) => [f.path, f]));
  const mb = new Map((b.manifest ?? []).map((f) => [f.path, f]));
  const added = [...mb.keys()].filter((p) => !ma.has(p)).sort();
  const removed = [...ma.keys()].filter((p) => !mb.has(p)).sort();
  const changed = [...ma.keys()].filter((p) => mb.has(p) && (ma.get(p)!.sha256 !== mb.get(p)!.sha256 || ma.get(p)!.mode !== mb.get(p)!.mode)).sort();
  return {
    commit: { from: a.record.git?.commit ?? null, to: b.record.git?.commit ?? null },
    dirty: { from: a.record.git?.dirty ?? false, to: b.record.git?.dirty ?? false },
    packageSame: a.record.code?.hash === b.record.code?.hash,
    added,
    removed,
    changed,
  };
}

function diffParams(a: Record<string, Literal>, b: Record<string, Literal>): RunDiff['params'] {
  return unionInOrder(Object.keys(a), Object.keys(b))
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((name) => ({ name, from: a[name], to: b[name] }));
}

function diffInputs(a: RunRecord, b: RunRecord): RunDiff['inputs'] {
  const ia = a.includes ?? {};
  const ib = b.includes ?? {};
  return unionInOrder(Object.keys(ia), Object.keys(ib))
    .filter((k) => ia[k]?.hash !== ib[k]?.hash)
    .map((name) => ({
      name,
      path: { from: ia[name]?.path, to: ib[name]?.path },
      hash: { from: ia[name]?.hash, to: ib[name]?.hash },
      size: { from: ia[name]?.size, to: ib[name]?.size },
    }));
}

function diffEnv(a: RunRecord, b: RunRecord): RunDiff['env'] {
  const pairs: Array<[string, string | null | undefined, string | null | undefined]> = [
    ['node', a.env?.node ?? a.node, b.env?.node ?? b.node],
    ['flowrun', a.env?.flowrun ?? a.flowrunVersion, b.env?.flowrun ?? b.flowrunVersion],
    ['os', a.env ? `${a.env.os}/${a.env.arch}` : undefined, b.env ? `${b.env.os}/${b.env.arch}` : undefined],
    ['lockfile', a.env?.lockfile?.hash ?? null, b.env?.lockfile?.hash ?? null],
    // Where the tasks ran (relative file reads) and which file held the flow.
    ['working directory', a.cwd ?? '.', b.cwd ?? '.'],
    ['flow file', a.file, b.file],
  ];
  for (const step of unionInOrder(Object.keys(a.envLocks ?? {}), Object.keys(b.envLocks ?? {}))) {
    pairs.push([`env lock of ${step}`, own(a.envLocks, step) ?? null, own(b.envLocks, step) ?? null]);
  }
  return pairs.filter(([, x, y]) => x !== y).map(([what, from, to]) => ({ what, from, to }));
}

/** Per step whose @npm or @conda lock changed: packages added, removed or at another version (a side without the env counts as empty). */
function diffEnvPackages(a: RunView, b: RunView): EnvPackageChange[] {
  const out: EnvPackageChange[] = [];
  const envsOf = (v: RunView, manager: EnvPackageChange['manager']) => (manager === 'npm' ? v.record.stepEnvs : v.record.condaEnvs) ?? {};
  for (const manager of ['npm', 'conda'] as const) {
    const [ea, eb] = [envsOf(a, manager), envsOf(b, manager)];
    const packagesOf = (v: RunView, lock: string | undefined) => new Map((lock ? (own(v.locks, lock) ?? []) : []).map((p) => [p.path, p]));
    for (const step of unionInOrder(Object.keys(ea), Object.keys(eb))) {
      if (ea[step]?.lock === eb[step]?.lock) continue;
      const [pa, pb] = [packagesOf(a, ea[step]?.lock), packagesOf(b, eb[step]?.lock)];
      for (const path of unionInOrder([...pa.keys()], [...pb.keys()]).sort()) {
        const [x, y] = [pa.get(path), pb.get(path)];
        if (x?.version === y?.version) continue;
        out.push({ step, manager, path, name: (x ?? y)!.name, kind: !x ? 'added' : !y ? 'removed' : 'changed', from: x?.version, to: y?.version });
      }
    }
  }
  return out;
}

interface StepContext {
  /** Parameters are reported once, in their own section, not as every task's artifact. */
  params: Set<string>;
  a: Map<string, TaskRecord>;
  b: Map<string, TaskRecord>;
}

function taskIndex(v: RunView): Map<string, TaskRecord> {
  return new Map(
    Object.values(v.tasks)
      .flat()
      .map((t) => [`${t.step}/${t.id}`, t]),
  );
}

/** Did this task set the artifact (rather than inherit it unchanged from a parent)? */
function produced(t: TaskRecord, name: string, index: Map<string, TaskRecord>): boolean {
  const hash = own(t.artifacts, name)?.hash;
  return !t.parents.some((p) => own(index.get(p)?.artifacts, name)?.hash === hash);
}

function diffStep(step: string, ta: TaskRecord[], tb: TaskRecord[], ctx: StepContext): StepDiff {
  const byA = new Map(ta.map((t) => [t.id, t]));
  const byB = new Map(tb.map((t) => [t.id, t]));
  const artifacts: ArtifactChange[] = [];
  const ids = unionInOrder([...byA.keys()], [...byB.keys()]).sort(compareTaskIds);
  for (const id of ids) {
    const x = byA.get(id);
    const y = byB.get(id);
    if (!x || !y) continue;
    for (const name of unionInOrder(Object.keys(x.artifacts), Object.keys(y.artifacts))) {
      const from = own(x.artifacts, name)?.hash;
      const to = own(y.artifacts, name)?.hash;
      if (from === to || ctx.params.has(name)) continue;
      // A difference only carried forward from an earlier step is reported where it arose; an
      // artifact is added or removed only by the task that sets it (a task that failed in one
      // run has no artifacts: what it would have inherited is not "added" by the other).
      const kind = !from ? 'added' : !to ? 'removed' : 'changed';
      if (kind === 'added' ? !produced(y, name, ctx.b) : kind === 'removed' ? !produced(x, name, ctx.a) : !produced(x, name, ctx.a) && !produced(y, name, ctx.b)) continue;
      artifacts.push({ task: `${step}/${id}`, artifact: name, kind, from, to });
    }
  }
  const status = (ts: TaskRecord[]) => (ts.length === 0 ? 'not run' : ts.every((t) => t.status === 'ok') ? 'ok' : 'failed');
  const dur = (ts: TaskRecord[]) => ts.reduce((n, t) => n + t.attempts.reduce((m, at) => m + at.durationMs, 0), 0);
  const att = (ts: TaskRecord[]) => ts.reduce((n, t) => n + t.attempts.length, 0);
  return {
    step,
    status: { from: status(ta), to: status(tb) },
    tasks: { from: ta.length, to: tb.length },
    attempts: { from: att(ta), to: att(tb) },
    durationMs: { from: dur(ta), to: dur(tb) },
    artifacts,
    onlyInA: [...byA.keys()].filter((id) => !byB.has(id)).sort(compareTaskIds),
    onlyInB: [...byB.keys()].filter((id) => !byA.has(id)).sort(compareTaskIds),
    cached: { from: ta.filter((t) => t.cachedFrom !== undefined).length, to: tb.filter((t) => t.cachedFrom !== undefined).length },
  };
}

/** The items of `a` in order, then those only in `b`. */
function unionInOrder(a: string[], b: string[]): string[] {
  const seen = new Set(a);
  return [...a, ...b.filter((x) => !seen.has(x))];
}
