import { listRuns } from '../client/client.js';
import { readLiveLog } from '../runtime/live-read.js';
import type { FlowConfig } from '../config/config.js';
import { compareRuns } from '../diff/compare.js';
import { loadRunView } from '../diff/load.js';
import { NotFoundError, UsageError } from '../errors/index.js';
import { verifyReplay } from '../replay/verify.js';
import type { RunRecord } from '../metadata/records.js';
import { FLOWRUN_VERSION } from '../util/package-info.js';
import { imageBytes, viewOf } from './model/artifact-view.js';
import { codeFile, codeListing, dirtyPatch } from './model/code.js';
import { parseRunsQuery, runsModel } from './model/runs.js';
import { runModel, timelineModel } from './model/run.js';
import { attemptLogs, taskModel } from './model/task.js';
import type { StoreReader } from './reader.js';

/** An answer: JSON, or bytes with their type (and the policy they are served under). */
export type Reply = { json: unknown } | { body: Buffer | string; type: string; csp?: 'raw' | 'card' };

export interface ApiContext {
  reader: StoreReader;
  config?: FlowConfig;
  mirrorUrl?: string;
}

/** Artifacts larger than this (encoded) are described, not loaded, by the task page. */
const VIEW_MAX_BYTES = 64 << 20;
const REMOTE_RUNS_TTL_MS = 30_000;

type Route = [RegExp, (ctx: ApiContext, m: string[], q: URLSearchParams) => Promise<Reply>];

const SEG = '([^/]+)';
const TASK = `/api/runs/${SEG}/steps/${SEG}/tasks/${SEG}`;

/** Every endpoint: GET only, each a read through the client API. */
const ROUTES: Route[] = [
  [/^\/api\/info$/, async (ctx) => ({ json: { version: FLOWRUN_VERSION, store: ctx.reader.store.location, mirror: ctx.mirrorUrl ?? null, readOnly: true } })],
  [/^\/api\/runs$/, async (ctx, _m, q) => ({ json: await runsPage(ctx, q) })],
  [new RegExp(`^/api/runs/${SEG}$`), async (ctx, [run]) => ({ json: await runModel(ctx.reader, await ctx.reader.open(run!)) })],
  [new RegExp(`^/api/runs/${SEG}/timeline$`), async (ctx, [run]) => ({ json: await timelineModel(ctx.reader, await ctx.reader.open(run!)) })],
  [new RegExp(`^/api/runs/${SEG}/steps/${SEG}$`), async (ctx, [run, step]) => ({ json: await stepTasks(ctx, run!, step!) })],
  [
    new RegExp(`^${TASK}$`),
    async (ctx, [run, step, task]) => {
      const r = await ctx.reader.open(run!);
      const records = await ctx.reader.taskRecords(r);
      const parent = (p: string) => {
        const [s, id] = p.split('/');
        return records.get(s!)?.find((t) => t.id === id);
      };
      return { json: await taskModel(r, step!, task!, parent) };
    },
  ],
  [
    new RegExp(`^${TASK}/logs$`),
    async (ctx, [run, step, task], q) => {
      const t = (await ctx.reader.open(run!)).step(step!).task(task!);
      return { json: await attemptLogs(t, intParam(q, 'attempt')) };
    },
  ],
  [
    new RegExp(`^${TASK}/live$`),
    async (ctx, [run, step, task], q) => {
      const t = { run: run!, step: step!, id: task!, attempt: intParam(q, 'attempt') ?? 0 };
      const out = readLiveLog(ctx.reader.store, t, 'stdout', intParam(q, 'stdout') ?? 0);
      const err = readLiveLog(ctx.reader.store, t, 'stderr', intParam(q, 'stderr') ?? 0);
      return { json: { stdout: out ?? null, stderr: err ?? null } };
    },
  ],
  [
    new RegExp(`^${TASK}/artifacts/${SEG}$`),
    async (ctx, [run, step, task, name]) => {
      const t = (await ctx.reader.open(run!)).step(step!).task(task!);
      const ref = Object.hasOwn(t.record.artifacts, name!) ? t.record.artifacts[name!] : undefined;
      if (ref && ref.size > VIEW_MAX_BYTES) return { json: { name, hash: ref.hash, size: ref.size, view: { kind: 'too-large', size: ref.size } } };
      const value = await t.artifact(name!);
      return { json: { name, hash: ref!.hash, size: ref!.size, view: viewOf(value) } };
    },
  ],
  [
    new RegExp(`^${TASK}/artifacts/${SEG}/raw$`),
    async (ctx, [run, step, task, name]) => {
      const t = (await ctx.reader.open(run!)).step(step!).task(task!);
      const image = imageBytes(await t.artifact(name!));
      if (!image) throw new NotFoundError('ARTIFACT_NOT_IMAGE', `Artifact ${name} of ${t.pathspec} is not an image.`, { artifact: name });
      return { body: Buffer.from(image.bytes.buffer, image.bytes.byteOffset, image.bytes.byteLength), type: image.mime, csp: 'raw' };
    },
  ],
  [new RegExp(`^/api/runs/${SEG}/code$`), async (ctx, [run]) => ({ json: codeListing(await ctx.reader.open(run!)) })],
  [new RegExp(`^/api/runs/${SEG}/code/file$`), async (ctx, [run], q) => ({ json: await codeFile(await ctx.reader.open(run!), q.get('path') ?? '') })],
  [new RegExp(`^/api/runs/${SEG}/patch$`), async (ctx, [run]) => ({ json: dirtyPatch(await ctx.reader.open(run!)) })],
  [new RegExp(`^/api/runs/${SEG}/replay$`), async (ctx, [run]) => ({ json: await replayReport(ctx, run!) })],
  [new RegExp(`^/api/diff/${SEG}/${SEG}$`), async (ctx, [a, b]) => ({ json: await compareRuns(ctx.reader.store, a!, b!, { code: true }) })],
];

export function route(path: string): { handler: Route[1]; params: string[] } | undefined {
  for (const [re, handler] of ROUTES) {
    const m = re.exec(path);
    if (m) return { handler, params: m.slice(1).map((s) => decodeURIComponent(s)) };
  }
  return undefined;
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError('UI_BAD_QUERY', `${name} must be a whole number ≥ 0 (got ${JSON.stringify(v)}).`);
  return n;
}

let remoteCache: { at: number; runs: RunRecord[] } | undefined;

async function runsPage(ctx: ApiContext, q: URLSearchParams) {
  const query = parseRunsQuery(q);
  if (q.get('source') === 'mirror') {
    if (!ctx.config) throw new UsageError('MIRROR_NOT_CONFIGURED', 'No project configuration: the mirror is unknown.');
    if (!remoteCache || Date.now() - remoteCache.at > REMOTE_RUNS_TTL_MS) {
      const { requireMirror, listRemoteRuns } = await import('../mirror/sync.js');
      remoteCache = { at: Date.now(), runs: await listRemoteRuns(await requireMirror(ctx.config, 'ui')) };
    }
    return runsModel(remoteCache.runs, query, 'mirror', ctx.mirrorUrl ?? '');
  }
  return runsModel(await listRuns(ctx.reader.store), query, 'local', ctx.reader.store.location);
}

/** A step's tasks, compact: [id, status, attempts, duration ms, artifacts, cards]. */
async function stepTasks(ctx: ApiContext, runId: string, step: string) {
  const run = await ctx.reader.open(runId);
  run.step(step); // STEP_NOT_FOUND with a suggestion
  const records = (await ctx.reader.taskRecords(run)).get(step) ?? [];
  return {
    run: run.id,
    flow: run.flow,
    step,
    status: run.status,
    tasks: records.map((t) => [t.id, t.status, t.attempts.length, t.attempts.reduce((n, a) => n + a.durationMs, 0), Object.keys(t.artifacts).length]),
  };
}

/** A replay's report: the verdict, per-step counts and every artifact that did not reproduce. */
async function replayReport(ctx: ApiContext, id: string) {
  const replay = await ctx.reader.open(id);
  const of = replay.record.replayOf;
  if (!of) throw new NotFoundError('NOT_A_REPLAY', `${id} is not a replay (flow replay RUN makes one).`);
  const original = await ctx.reader.open(of);
  const { checks, verdict } = verifyReplay(await loadRunView(original), await loadRunView(replay));
  const steps = new Map<string, { step: string; reproduced: number; diverged: number; missing: number }>();
  for (const c of checks) {
    const step = c.task.split('/')[0]!;
    const s = steps.get(step) ?? { step, reproduced: 0, diverged: 0, missing: 0 };
    s[c.status]++;
    steps.set(step, s);
  }
  return { replay: id, original: of, status: replay.status, verdict: replay.record.verdict ?? verdict, steps: [...steps.values()], problems: checks.filter((c) => c.status !== 'reproduced') };
}
