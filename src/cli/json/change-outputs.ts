import * as v from 'valibot';
import { ArtifactRef, AttemptRecord, FlowErrorJson, Hash, RunRecord, Time } from './records.js';

/*
 * The --json output of the commands that change things (gc, fsck, tag, push, pull, cache clear, init,
 * spin, cache verify),
 * published as schemas/<command>.schema.json beside the read commands' (outputs.ts).
 */

const d = v.description;
const Count = v.pipe(v.number(), v.integer(), v.minValue(0));

export const GcOutput = v.strictObject({
  schema: v.literal('flowrun.gc/1'),
  store: v.pipe(v.string(), d('the store collected (local directory or s3:// mirror)')),
  dryRun: v.boolean(),
  keptRuns: v.array(v.string()),
  deletedRuns: v.pipe(v.array(v.string()), d('deleted, or with dryRun: would be')),
  deletedObjects: Count,
  deletedBytes: Count,
  protectedRecent: v.pipe(Count, d('unreferenced units younger than the grace period, kept')),
  partialPacks: v.pipe(Count, d('S3: packs kept because some of their objects are still referenced')),
  awaitingSecondPass: v.pipe(Count, d('S3: unreferenced units seen for the first time; a gc a grace period later deletes them')),
  skippedSymlinks: v.pipe(v.array(v.string()), d('local: symlinks where objects belong; gc never follows or deletes them')),
  deletedCacheEntries: Count,
});

const FsckProblem = v.strictObject({
  code: v.string(),
  subject: v.pipe(v.string(), d('the object id or record path concerned')),
  message: v.string(),
  referrers: v.optional(v.pipe(v.array(v.string()), d('who references it (run/step/task artifact), when known'))),
});

export const FsckOutput = v.strictObject({
  schema: v.literal('flowrun.fsck/1'),
  store: v.string(),
  objects: Count,
  runs: Count,
  tasks: Count,
  problems: v.pipe(v.array(FsckProblem), d('damage: fsck exits 3 when there is any')),
  notes: v.pipe(v.array(FsckProblem), d('harmless findings (leftovers of interrupted writes)')),
});

export const TagOutput = v.strictObject({
  schema: v.literal('flowrun.tag/1'),
  run: v.optional(v.string()),
  tags: v.optional(v.pipe(v.array(v.string()), d("the run's tags after the change"))),
  changed: v.optional(v.pipe(v.array(v.string()), d('the tags added or removed (those already so are left out)'))),
  all: v.optional(v.pipe(v.array(v.strictObject({ tag: v.string(), runs: Count })), d('flow tag list without a run: every tag and how many runs carry it'))),
});

const Pushed = v.strictObject({
  run: v.string(),
  status: v.picklist(['pushed', 'up-to-date', 'skipped']),
  reason: v.optional(v.pipe(v.string(), d('why a run was skipped'))),
  objects: Count,
  bytes: Count,
  packs: Count,
  // The run record now on the mirror, its tag log applied.
  record: v.optional(RunRecord),
  tags: v.optional(v.pipe(Count, d('tag log entries copied'))),
});

export const PushOutput = v.strictObject({ schema: v.literal('flowrun.push/1'), mirror: v.string(), runs: v.array(Pushed) });

const Pulled = v.strictObject({
  run: v.string(),
  status: v.picklist(['pulled', 'up-to-date']),
  objects: Count,
  bytes: Count,
  tags: v.optional(v.pipe(Count, d('tag log entries copied'))),
});

export const PullOutput = v.strictObject({ schema: v.literal('flowrun.pull/1'), mirror: v.string(), runs: v.array(Pulled) });

export const CacheClearOutput = v.strictObject({
  schema: v.literal('flowrun.cache-clear/1'),
  step: v.pipe(v.nullable(v.string()), d('the step whose entries were removed; null: every step')),
  local: v.pipe(Count, d('entries removed from the local store')),
  remote: v.optional(v.pipe(Count, d('with --remote: entries removed from the mirror'))),
});

export const InitOutput = v.strictObject({
  schema: v.literal('flowrun.init/1'),
  dir: v.pipe(v.string(), d('the project directory (absolute)')),
  files: v.pipe(v.array(v.string()), d('every file written (created or updated), project-relative, sorted')),
  created: v.array(v.string()),
  updated: v.pipe(v.array(v.string()), d('existing files flowrun added to (package.json entries, .gitignore lines)')),
  kept: v.pipe(v.array(v.string()), d('existing files (or package.json entries) left as they were')),
  git: v.picklist(['initialized', 'existing', 'unavailable']),
  flowrun: v.pipe(v.string(), d("the flowrun dependency the project's package.json has")),
});

const SpinCheck = v.strictObject({
  artifact: v.string(),
  status: v.picklist(['same', 'changed', 'added', 'removed']),
  from: v.optional(v.pipe(Hash, d("the recorded task's object (absent when added)"))),
  to: v.optional(v.pipe(Hash, d("the spin's object (absent when removed)"))),
  detail: v.optional(v.pipe(v.string(), d('old → new for small values, field by field for objects, shapes for big ones'))),
});

/** `flow spin RUN/STEP/TASK`: the spin record (spins/SPIN/spin.json). */
export const SpinOutput = v.strictObject({
  schema: v.literal('flowrun.spin/1'),
  id: v.string(),
  of: v.pipe(v.strictObject({ run: v.string(), step: v.string(), task: v.string() }), d('the task rerun')),
  flow: v.string(),
  file: v.pipe(v.string(), d('the flow file (project-relative) whose current code ran')),
  status: v.picklist(['running', 'ok', 'failed']),
  started: Time,
  finished: v.optional(Time),
  seed: v.pipe(v.number(), d("the run's seed the spin drew its Math.random from")),
  attempt: v.optional(AttemptRecord),
  artifacts: v.optional(v.record(v.string(), ArtifactRef)),
  next: v.optional(v.strictObject({ targets: v.array(v.string()), foreach: v.optional(v.string()), count: v.optional(Count) })),
  error: v.optional(FlowErrorJson),
  checks: v.optional(v.pipe(v.array(SpinCheck), d("every artifact against the recorded task's"))),
});

const CachedTask = v.strictObject({ task: v.pipe(v.string(), d('step/id')), cachedFrom: v.pipe(v.string(), d('run/step/id of the task whose outputs it reused')) });

/** `flow cache verify RUN`: the cached tasks of RUN recomputed and compared. */
export const CacheVerifyOutput = v.strictObject({
  schema: v.literal('flowrun.cache-verify/1'),
  run: v.string(),
  verify: v.optional(v.pipe(RunRecord, d('the run that recomputed the cached tasks (absent when there were none)'))),
  cached: v.pipe(v.array(CachedTask), d('the tasks RUN reused from the cache')),
  checks: v.array(
    v.strictObject({
      task: v.string(),
      artifact: v.string(),
      status: v.picklist(['reproduced', 'diverged', 'missing']),
      expected: Hash,
      got: v.optional(Hash),
    }),
  ),
  evicted: v.pipe(v.array(CachedTask), d('tasks whose recomputation differed: their entries were evicted')),
  exitCode: v.pipe(Count, d('0 when every cached task reproduced')),
});

/** Command id → schema of its --json output. */
export const CHANGE_OUTPUTS = {
  gc: GcOutput,
  fsck: FsckOutput,
  tag: TagOutput,
  push: PushOutput,
  pull: PullOutput,
  'cache:clear': CacheClearOutput,
  init: InitOutput,
  spin: SpinOutput,
  'cache:verify': CacheVerifyOutput,
} as const satisfies Record<string, v.GenericSchema>;
