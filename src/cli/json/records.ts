import * as v from 'valibot';
import type * as records from '../../metadata/records.js';

/*
 * Run and task records whole, as the --json outputs show them (flow runs, flow inspect, ...) and
 * as the published JSON Schemas describe them (schemas/, tools/json-schemas.ts). Strict objects:
 * a field the code adds without describing it here fails test/cli/json-schemas.test.ts, and a
 * field that is described but no longer exists fails to compile (the key checks at the end).
 * Readers of the store check less (src/metadata/record-schema.ts): an older record must still read.
 */

const d = v.description;
export const Hash = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/), d('sha256 (hex) of an object in the store'));
const Count = v.pipe(v.number(), v.integer(), v.minValue(0));
export const Time = v.pipe(v.string(), v.isoTimestamp(), d('ISO 8601 time'));

/** A JSON value (a parameter, a decorator argument). */
export const Literal: v.GenericSchema<unknown> = v.pipe(v.unknown(), d('any JSON value'));

export const FlowErrorJson = v.pipe(
  v.strictObject({
    code: v.pipe(v.string(), d('stable error code, e.g. TASK_TIMEOUT (docs/errors.md)')),
    message: v.string(),
    fix: v.optional(v.string()),
    exitCode: v.picklist([0, 1, 2, 3, 4, 130]),
    data: v.optional(v.record(v.string(), v.unknown())),
    file: v.optional(v.string()),
    line: v.optional(v.number()),
    column: v.optional(v.number()),
    step: v.optional(v.string()),
    artifact: v.optional(v.string()),
    param: v.optional(v.string()),
    key: v.optional(v.string()),
    task: v.optional(v.string()),
  }),
  d('a flowrun error as JSON'),
);

const Logs = v.strictObject({ stdout: Hash, stderr: Hash });
export const ArtifactRef = v.strictObject({ hash: Hash, size: v.pipe(Count, d('bytes of the encoded artifact object')) });

const RemoteAttempt = v.strictObject({
  backend: v.literal('batch'),
  jobId: v.string(),
  logGroup: v.optional(v.string()),
  logStream: v.optional(v.string()),
  region: v.optional(v.string()),
  uploaded: v.boolean(),
  batchAttempts: v.optional(Count),
});

export const AttemptRecord = v.strictObject({
  attempt: Count,
  started: Time,
  finished: Time,
  durationMs: v.number(),
  status: v.picklist(['ok', 'failed']),
  error: v.optional(FlowErrorJson),
  logs: v.optional(Logs),
  remote: v.optional(RemoteAttempt),
  seed: v.optional(v.pipe(v.string(), d('seed of Math.random in this attempt (hex)'))),
});

export const TaskRecord = v.pipe(
  v.strictObject({
    schema: v.literal('flowrun.task/1'),
    run: v.string(),
    step: v.string(),
    id: v.pipe(v.string(), d("split indices joined by '.', or '0'")),
    stack: v.array(v.strictObject({ step: v.string(), index: Count, count: Count })),
    parents: v.pipe(v.array(v.string()), d('step/id of the tasks this one read from, in input order')),
    status: v.picklist(['ok', 'failed']),
    attempts: v.array(AttemptRecord),
    artifacts: v.record(v.string(), ArtifactRef),
    logs: Logs,
    next: v.optional(v.strictObject({ targets: v.array(v.string()), foreach: v.optional(v.string()), count: v.optional(Count) })),
    caught: v.optional(FlowErrorJson),
    clonedFrom: v.optional(v.string()),
    cachedFrom: v.optional(v.string()),
    cache: v.optional(v.strictObject({ k0: v.string(), k1: v.string(), k2: v.string() })),
    cards: v.optional(v.array(v.strictObject({ id: v.string(), hash: Hash, title: v.optional(v.string()), errors: v.optional(Count) }))),
  }),
  d('a task record (runs/RUN/tasks/STEP/ID.json)'),
);

const StepSummary = v.strictObject({ tasks: Count, ok: Count, failed: Count, cached: v.optional(Count) });
const GitRecord = v.strictObject({
  commit: v.nullable(v.string()),
  branch: v.nullable(v.string()),
  dirty: v.boolean(),
  remotes: v.record(v.string(), v.string()),
  shallow: v.boolean(),
  detached: v.boolean(),
  patch: v.optional(Hash),
});
const Packages = v.record(v.string(), v.string());
const ClonedSource = v.strictObject({ task: v.string(), commit: v.optional(v.nullable(v.string())), dirty: v.optional(v.boolean()) });

/** The run record's fields (RunRecord adds its description), for outputs that extend a run record. */
/** An @npm environment's spec as written (@npmBase merged with @npm). */
export const NpmEnvSpec = v.strictObject({ packages: Packages, node: v.optional(v.string()) });
/** A @conda environment's spec as written. */
export const CondaEnvSpec = v.strictObject({ packages: Packages, python: v.optional(v.string()), channels: v.optional(v.array(v.string())) });

export const RunRecordObject = v.strictObject({
  schema: v.literal('flowrun.run/1'),
  id: v.pipe(v.string(), v.regex(/^run-\d+$/)),
  flow: v.string(),
  file: v.pipe(v.string(), d('the flow file, relative to the project root')),
  cwd: v.optional(v.string()),
  status: v.picklist(['running', 'ok', 'failed', 'interrupted']),
  params: v.record(v.string(), Literal),
  includes: v.optional(v.record(v.string(), v.strictObject({ path: v.string(), hash: Hash, size: Count, binary: v.boolean() }))),
  seed: v.number(),
  tags: v.array(v.string()),
  started: Time,
  finished: v.optional(Time),
  durationMs: v.optional(v.number()),
  host: v.string(),
  pid: v.number(),
  flowrunVersion: v.string(),
  node: v.string(),
  steps: v.array(v.strictObject({ name: v.string(), type: v.string() })),
  summary: v.optional(v.record(v.string(), StepSummary)),
  error: v.optional(FlowErrorJson),
  origin: v.optional(v.strictObject({ run: v.string(), step: v.string(), reused: v.optional(Count) })),
  user: v.optional(v.string()),
  git: v.nullable(GitRecord),
  code: v.optional(v.strictObject({ hash: Hash, manifest: Hash, files: Count, bytes: Count })),
  env: v.optional(v.strictObject({ node: v.string(), flowrun: v.string(), os: v.string(), arch: v.string(), lockfile: v.nullable(v.strictObject({ name: v.string(), hash: Hash })) })),
  envLocks: v.optional(v.record(v.string(), v.nullable(v.string()))),
  stepEnvs: v.optional(v.record(v.string(), v.strictObject({ kind: v.literal('npm'), spec: NpmEnvSpec, lock: Hash }))),
  condaEnvs: v.optional(v.record(v.string(), v.strictObject({ kind: v.literal('conda'), spec: CondaEnvSpec, lock: Hash }))),
  cache: v.optional(
    v.strictObject({
      steps: v.array(v.string()),
      lookups: Count,
      local: Count,
      remote: Count,
      filled: Count,
      lookupMs: v.number(),
      lookupCpuMs: v.optional(v.number()),
      mirrorRequests: v.optional(Count),
    }),
  ),
  replayOf: v.optional(v.string()),
  verdict: v.optional(
    v.strictObject({
      reproduced: v.boolean(),
      artifacts: v.strictObject({ reproduced: Count, diverged: Count, missing: Count }),
      firstDivergence: v.optional(v.strictObject({ step: v.string(), task: v.string(), artifact: v.string(), kind: v.picklist(['diverged', 'missing']), clonedFrom: v.optional(ClonedSource) })),
    }),
  ),
  whatIf: v.optional(v.record(v.string(), Literal)),
});

export const RunRecord = v.pipe(RunRecordObject, d('a run record (runs/RUN/run.json)'));

// Compile-time: the schemas name exactly the records' fields (records.ts stays the types' source).
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : { onlyInFirst: Exclude<keyof A, keyof B>; onlyInSecond: Exclude<keyof B, keyof A> };
export const RECORD_KEYS_MATCH: [SameKeys<v.InferOutput<typeof RunRecord>, records.RunRecord>, SameKeys<v.InferOutput<typeof TaskRecord>, records.TaskRecord>] = [true, true];
