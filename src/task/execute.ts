import { pathToFileURL } from 'node:url';
import { FlowError, isFlowError } from '../errors/index.js';
import { setParamOverrides } from '../flow/decorators.js';
import { FlowSpec, type TaskSlots, taskSlots } from '../flow/flowspec.js';
import { loadIncludes } from './includes.js';
import { isSeedHex, seedFromHex, seedHex, sfc32, taskSeed } from './seed.js';
import { setTaskContext, type TaskContextData } from '../flow/current.js';
import type { SyncStore } from '../store/types.js';
import { ArtifactScope, inputView, loadArtifact } from './artifacts.js';
import { noteClock, noteRandom, TaskReadLog } from './reads.js';
import { useTaskEnvironment } from './env-resolution.js';
import { adoptFirstImport, beginTask, endTask, stepStarting } from './isolation.js';
import type { TaskJob, TaskResult } from './protocol.js';
import { splitCount } from './split-count.js';
import { beginCard, finishCard, takeCard } from '../cards/collect.js';
import { readFlowMeta } from '../flow/metadata.js';
import { cardRequest } from '../decorators/hooks.js';

type FlowClass = new () => FlowSpec;
let importCount = 0;

/** How a task attempt ended, and whether its worker can run another one. */
export interface TaskEnd {
  result: TaskResult;
  /** Why the worker must be retired: state the task changed that could not be put back. */
  retire?: string;
}

/**
 * Runs one task attempt inside a worker: imports a fresh instance of the flow module (so
 * module-level state never leaks between tasks), builds the flow object with its parameters
 * and inherited artifacts, and calls the step. Then, before anything of flowrun's runs again,
 * the processes the task started are killed and the realm and process state are put back as
 * they were before the task, so storing its artifacts cannot be bent by what the step patched
 * and the next task starts from the same state. Objects are written before the result is
 * returned; the orchestrator writes the task record after.
 */
export async function executeTask(job: TaskJob, store: SyncStore): Promise<TaskEnd> {
  beginTask();
  const seed = isSeedHex(job.taskSeed) ? seedFromHex(job.taskSeed) : taskSeed(job.seed, job.step, job.taskId, job.attempt);
  setTaskContext(contextOf(job, seedHex(seed)));
  let ran: { flow: FlowSpec; slots: TaskSlots; scope: ArtifactScope } | undefined;
  let failure: unknown;
  const reads = job.trackReads ? new TaskReadLog(job.inputs?.length) : undefined;
  try {
    await adoptFirstImport(job.modulePath, () => importFlowModule(job, 'first'));
    Object.assign(process.env, job.env);
    const random = sfc32(seed);
    Math.random = reads ? noteRandom(random, reads) : random;
    if (reads) noteClock(reads);
    ran = await runStep(job, store, reads);
  } catch (e) {
    failure = e;
  }
  // The card the step built is taken before the realm is put back (its buffer hangs off a global).
  const card = takeCard();
  setTaskContext(undefined);
  const retire = await endTask();
  const task = { run: job.run, step: job.step, task: job.taskId };
  try {
    if (!ran) throw failure;
    const artifacts = ran.scope.collect(ran.flow as unknown as Record<string, unknown>, job.step);
    const result: TaskResult = { ok: true, artifacts, next: ran.slots.next };
    if (reads) result.reads = reads.result(ran.scope.carried);
    if (job.splitField !== undefined) result.count = splitCount(ran.flow, job);
    const cards = finishCard(card, store, task);
    return { result: cards ? { ...result, cards } : result, ...(retire ? { retire } : {}) };
  } catch (e) {
    // A failed task keeps what its card had so far: it often says why.
    const cards = finishCard(card, store, task);
    return { result: { ok: false, error: errorJson(e, job.step), ...(cards ? { cards } : {}) }, ...(retire ? { retire } : {}) };
  }
}

function contextOf(job: TaskJob, seed: string): TaskContextData {
  const c = job.context;
  return {
    flowName: job.flow,
    runId: job.run,
    stepName: job.step,
    taskId: job.taskId,
    attempt: job.attempt,
    seed: job.seed,
    taskSeed: seed,
    tags: c?.tags ?? [],
    username: c?.user ?? 'unknown',
    originRunId: c?.origin,
    replayOf: c?.replayOf,
    whatIf: c?.whatIf === true,
  };
}

async function runStep(job: TaskJob, store: SyncStore, reads: TaskReadLog | undefined): Promise<{ flow: FlowSpec; slots: TaskSlots; scope: ArtifactScope }> {
  const Flow = await loadFlowClass(job);
  beginCard(cardRequest(readFlowMeta(Flow)?.stepDecorators.get(job.step) ?? []));
  setParamOverrides(job.includes ? { ...job.params, ...loadIncludes(job.includes, store) } : job.params);
  let flow: FlowSpec;
  try {
    flow = new Flow();
  } finally {
    setParamOverrides(undefined);
  }
  const scope = new ArtifactScope(store, reads);
  const slots = taskSlots(flow);
  slots.step = job.step;
  slots.adopt = (name, ref) => scope.adopt(flow, name, ref);
  scope.install(flow, job.inherited, new Set(Object.keys(job.params)));
  if (reads) scope.trackParams(flow, Object.keys(job.params));
  if (job.foreach) {
    slots.hasInput = true;
    slots.index = job.foreach.index;
    const item = splitItem(store, job.foreach.artifact, job.foreach.index);
    if (reads)
      Object.defineProperty(slots, 'input', {
        enumerable: true,
        configurable: true,
        get: () => {
          reads.item = true;
          return item;
        },
      });
    else slots.input = item;
  }
  const method = (flow as unknown as Record<string, unknown>)[job.step];
  if (typeof method !== 'function') throw new FlowError('STEP_NOT_FOUND', `The flow class has no method ${job.step}.`, { step: job.step });
  const inputs = job.inputs ? joinInputs(job, store, slots, reads) : undefined;
  // flow spin --inspect-brk stops here, with the flow object built: step into the next line to enter the step.
  // biome-ignore lint/suspicious/noDebugger: the stop `flow spin --inspect-brk` exists for.
  if (job.inspect) debugger;
  await (method as (inputs?: unknown) => unknown).call(flow, ...(inputs ? [inputs] : []));
  return { flow, slots, scope };
}

/** A join's inputs: one read-only view per input task, whose artifacts load when touched. */
function joinInputs(job: TaskJob, store: SyncStore, slots: TaskSlots, reads: TaskReadLog | undefined): readonly unknown[] {
  const refs = new WeakMap<object, Record<string, { hash: string; size: number }>>();
  slots.inputRefs = refs;
  // With the step cache on, what the join reads of each input is noted (its entry depends on it).
  if (reads)
    slots.merged = (name) =>
      job.inputs!.forEach((i, n) => {
        if (Object.hasOwn(i.artifacts, name)) reads.input(n, name);
      });
  return Object.freeze(job.inputs!.map((i, n) => inputView(store, i, job.step, refs, reads && ((name) => reads.input(n, name)))));
}

/** A new URL per import gives a fresh module instance: module-level variables start over. */
async function importFlowModule(job: TaskJob, tag: string): Promise<Record<string, unknown>> {
  await useTaskEnvironment(job.modulePath, job.npm);
  return (await import(`${pathToFileURL(job.modulePath).href}?${tag}=${++importCount}`)) as Record<string, unknown>;
}

async function loadFlowClass(job: TaskJob): Promise<FlowClass> {
  const mod = await importFlowModule(job, 'task');
  stepStarting();
  const candidates = [mod.default, mod[job.flow], ...Object.values(mod)];
  const Flow = candidates.find((c): c is FlowClass => typeof c === 'function' && c.prototype instanceof FlowSpec && (c.name === job.flow || c === mod.default));
  if (!Flow) throw new FlowError('FLOW_CLASS_NOT_FOUND', `The compiled flow module does not export ${job.flow}.`, { fix: 'Export the flow class (export default class ...).' });
  return Flow;
}

let cachedSplit: { hash: string; items: unknown[] } | undefined;

/** The item of a foreach split; the decoded list is kept per worker, each task gets its own copy. */
function splitItem(store: SyncStore, ref: { hash: string; size: number }, index: number): unknown {
  if (cachedSplit?.hash !== ref.hash) {
    cachedSplit = { hash: ref.hash, items: Array.from(loadArtifact(store, ref) as Iterable<unknown>) };
  }
  return structuredClone(cachedSplit.items[index]);
}

function errorJson(e: unknown, step: string): FlowError['toJSON'] extends () => infer J ? J & { stack?: string } : never {
  if (isFlowError(e)) return { ...e.toJSON(), step: e.location.step ?? step, stack: e.stack };
  const err = e instanceof Error ? e : new Error(String(e));
  return { code: 'TASK_FAILED', message: `${err.name}: ${err.message}`, exitCode: 1, step, stack: err.stack };
}
