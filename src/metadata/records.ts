import type { FlowErrorJson } from '../errors/index.js';
import type { Literal } from '../util/literal.js';

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
  /** This attempt's stdout/stderr objects (records written before attempts kept them have only the task's `logs`). */
  logs?: { stdout: string; stderr: string };
  /** Where the attempt ran when not in a local worker, and where its container output went. */
  remote?: RemoteAttempt;
  /**
   * The seed of Math.random in this attempt (128 bits, hex): derived from the run seed, step, task
   * id and attempt number, or the recorded one a replay repeats. Absent in records made before.
   */
  seed?: string;
}

/** A Batch job's attempt: its job id and CloudWatch log stream (read by `flow logs` when the task could not upload its output). */
export interface RemoteAttempt {
  backend: 'batch';
  jobId: string;
  logGroup?: string;
  logStream?: string;
  region?: string;
  /** Whether the task uploaded its output (false: it died first, e.g. out of memory, a Spot reclaim, a bootstrap failure). */
  uploaded: boolean;
  /** Batch's own attempts when it retried a vanished host (Spot); they do not count as @retry attempts. */
  batchAttempts?: number;
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
  /** The last attempt's logs (each attempt's are in `attempts[].logs`). */
  logs: { stdout: string; stderr: string };
  next?: NextCall & { count?: number };
  /** The error stored by @catchError (the task is ok, the flow continued). */
  caught?: FlowErrorJson;
  /** `run/step/id` of the task this one was cloned from by `flow resume`. */
  clonedFrom?: string;
  /** `run/step/id` of the task whose outputs this one reused from the step cache (no object copied). */
  cachedFrom?: string;
  /** The step cache keys of this task (step, task, reads): the entry it filled, or the one it reused. */
  cache?: CacheKeyRef;
  /** The reports the last attempt built (`@card`, `currentCard`): card documents stored as objects. */
  cards?: CardRef[];
}

export interface StepSummary {
  tasks: number;
  ok: number;
  failed: number;
  /** Tasks reused from the step cache (counted in `ok` too). */
  cached?: number;
}

export interface RunCacheRecord {
  steps: string[];
  /** Tasks of cached steps looked up; reused from the local store, from the mirror; entries filed. */
  lookups: number;
  local: number;
  remote: number;
  filled: number;
  /** Time the local lookups took, in total (ms, wall and CPU); the mirror's are counted in requests. */
  lookupMs: number;
  lookupCpuMs?: number;
  /** S3 requests the lookups made on the mirror (listings and bundle reads; not the hits' object fetches). */
  mirrorRequests?: number;
}

/** A step cache entry's keys (src/cache/key.ts): K0 names the step's entries on a mirror, K1/K2 the entry. */
export interface CacheKeyRef {
  k0: string;
  k1: string;
  k2: string;
}

/** runs/<run>/run.json: written when the run starts and again when it ends. */
export interface RunRecord {
  schema: 'flowrun.run/1';
  id: string;
  flow: string;
  /** The flow file, relative to the project root. */
  file: string;
  /** The working directory of the tasks, relative to the project root (a replay recreates it inside the package). */
  cwd?: string;
  status: RunStatus;
  params: Record<string, Literal>;
  /** @includeFile inputs: the path each was read from and the stored content's object hash. */
  includes?: Record<string, IncludeRecord>;
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
  /** For `flow resume`: the run it continues, the step it reran from and how many tasks it reused. */
  origin?: { run: string; step: string; reused?: number };
  /** Who started the run: --user, else FLOW_USER, else the OS account (absent in runs made before). */
  user?: string;
  git: GitRecord | null;
  code?: CodeRecord;
  env?: EnvRecord;
  /** Per step: the hash of its environment lock (the project lock file by default). */
  envLocks?: Record<string, string | null>;
  /** Steps with their own locked environment (@npm): spec and lock object. */
  stepEnvs?: Record<string, StepEnvRecord>;
  /** Steps with a conda environment (@conda, with --environment=conda): spec and lock object. */
  condaEnvs?: Record<string, CondaEnvRecord>;
  /** The step cache in this run: the steps it cached and what its lookups found. */
  cache?: RunCacheRecord;
  /** For `flow replay`: the run this one repeats, and the verdict. */
  replayOf?: string;
  verdict?: ReplayVerdict;
  /** A what-if replay (`flow replay RUN --PARAM v`): the params it changed; it has no verdict. */
  whatIf?: Record<string, Literal>;
}

/**
 * The git state of the project when the run started (credentials stripped from remotes); the
 * dirty patch is stored as an object and referenced by its hash.
 */
export interface GitRecord {
  /** Full object id of HEAD; null in a repository with no commits yet. */
  commit: string | null;
  /** Branch name without refs/heads/; null when HEAD is detached. */
  branch: string | null;
  /** Any difference between HEAD and the working tree, untracked-not-ignored files included. */
  dirty: boolean;
  /** Remote name → fetch URL with credentials and query strings removed. */
  remotes: Record<string, string>;
  shallow: boolean;
  detached: boolean;
  /** Object holding the dirty patch (present when dirty). */
  patch?: string;
}

/** The transition a task took: `this.next(...)` as called. */
export interface NextCall {
  targets: string[];
  foreach?: string;
}

/** What a task record lists for each of its cards. */
export interface CardRef {
  id: string;
  hash: string;
  title?: string;
  /** Parts that could not be stored (each shown on the card as an error). */
  errors?: number;
}

/** One @includeFile input as the run read it; the content is an object of the store. */
export interface IncludeRecord {
  /** The path as given (or the default), as the run's params also show it. */
  path: string;
  /** Object holding the file's bytes. */
  hash: string;
  size: number;
  binary: boolean;
}

/** The run's code package: a deterministic tar of the project's files, stored as an object. */
export interface CodeRecord {
  /** sha256 of the uncompressed tar (the object id). */
  hash: string;
  /** Object holding the file manifest: [{ path, sha256, size, mode }] sorted by path. */
  manifest: string;
  files: number;
  bytes: number;
}

export interface ManifestEntry {
  path: string;
  sha256: string;
  size: number;
  mode: number;
}

/** The environment the run executed in; `lockfile` is every step's default environment lock. */
export interface EnvRecord {
  node: string;
  flowrun: string;
  os: string;
  arch: string;
  lockfile: { name: string; hash: string } | null;
}

/**
 * A step's own environment: the spec as written (@npmBase merged with @npm) and the hash of the
 * lock it resolved to, stored as an object (for npm, the package-lock.json npm wrote). The lock
 * alone rebuilds the environment on any machine.
 */
export interface StepEnvRecord {
  kind: 'npm';
  spec: { packages: Record<string, string>; node?: string };
  lock: string;
}

/** A step's conda environment: the spec and the hash of its lock (explicit package URLs + sha256, JSON). */
export interface CondaEnvRecord {
  kind: 'conda';
  spec: { packages: Record<string, string>; python?: string; channels?: string[] };
  lock: string;
}

/** The verdict of `flow replay`, stored on the replay run. */
export interface ReplayVerdict {
  reproduced: boolean;
  artifacts: { reproduced: number; diverged: number; missing: number };
  /** The first step (topological order) where an artifact diverged or went missing. */
  firstDivergence?: { step: string; task: string; artifact: string; kind: 'diverged' | 'missing'; clonedFrom?: ClonedSource };
}

/**
 * Where a task of a resumed run really came from: the run whose code computed it (followed
 * through resumes of resumes) and that run's commit, when its record is still readable.
 */
export interface ClonedSource {
  task: string;
  commit?: string | null;
  dirty?: boolean;
}

export const runDir = (run: string) => `runs/${run}`;
export const runRecordPath = (run: string) => `runs/${run}/run.json`;
export const taskRecordPath = (run: string, step: string, id: string) => `runs/${run}/tasks/${step}/${id}.json`;

/** The step cache: `cache/<K1>/<K2>.json` entries (src/cache/). */
export const CACHE_DIR = 'cache';
export const cacheEntryPath = (k1: string, k2: string) => `${CACHE_DIR}/${k1}/${k2}.json`;

export function taskIdOf(stack: readonly ForeachFrame[]): string {
  return stack.length === 0 ? '0' : stack.map((f) => f.index).join('.');
}
