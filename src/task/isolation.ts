import Module from 'node:module';
import { setImmediate as yieldLoop, setTimeout as sleep } from 'node:timers/promises';
import { endTaskProcesses } from './children.js';
import { captureProcessState, restoreProcessState } from './process-state.js';
import { captureRealm, restoreRealm } from './realm.js';
import { monotonicNow } from '../util/primordials.js';

/**
 * The start and end of a task in a worker, as far as isolation goes. The end puts back what
 * the task changed (children killed, timers cancelled, process state and realm restored), then
 * checks that nothing of the task is left that could still run: a handle or request it left
 * open (a server, a socket, a watcher, a file read in flight) shows in the active resources,
 * which must be back to what they were before the task. What cannot be put back retires the
 * worker; it does not fail the task.
 *
 * Importing the flow module for the first time in a worker evaluates the packages it imports,
 * whose side effects (a polyfill, reflect-metadata, dotenv) every fresh process importing the
 * module has too: they become part of the recorded state. A package first loaded during a
 * step that also changed global state cannot be told apart from the step's own changes, so
 * that worker is retired (the next one imports the package afresh).
 */
let resources: Map<string, number> | undefined;
const imported = new Set<string>();
let modulesAtStep = 0;
let closesAtStep = 0;

/** Once per task, before any of its code runs. */
export function beginTask(): void {
  resources ??= countResources();
  // The legacy RegExp statics (RegExp.$1, lastMatch, ...) would otherwise show the previous task's last match.
  /(?:)/.exec('');
}

/**
 * The first time a worker runs a task of a flow module: imports it once, before the task's
 * environment variables and seed are applied, and records the state that import left as the
 * state every later task starts from.
 */
export async function adoptFirstImport(modulePath: string, importOnce: () => Promise<unknown>): Promise<void> {
  if (imported.has(modulePath)) return;
  imported.add(modulePath);
  await importOnce();
  captureRealm();
  captureProcessState();
}

/** After the task's own import of the flow module, before the flow is built and the step runs. */
export function stepStarting(): void {
  modulesAtStep = cjsModules();
  // The loader closes the module file it read asynchronously: that close may still be in flight at the end.
  closesAtStep = countResources().get('CloseReq') ?? 0;
}

/** How long handles the task left (its killed children's pipes) may take to close before the worker is retired. */
const LEFTOVER_WAIT_MS = 1000;

/** After the step returned or threw; returns why the worker must be retired, or undefined. */
export async function endTask(): Promise<string | undefined> {
  await endTaskProcesses();
  const proc = restoreProcessState();
  const realm = restoreRealm();
  /(?:)/.exec('');
  let left = leftovers();
  // Handles of killed children and of cancelled work close within a few turns of the event loop,
  // or, on a loaded machine, once the kernel has run the children's exits: waited for by the
  // clock, not by a number of turns (a task that leaves nothing open does not wait at all).
  const deadline = monotonicNow() + LEFTOVER_WAIT_MS;
  for (let i = 0; left && monotonicNow() < deadline; i++) {
    await yieldLoop();
    if (i > 2) await sleep(i > 20 ? 5 : 1);
    left = leftovers();
  }
  const loaded = (realm.changed || proc.changed) && cjsModules() > modulesAtStep;
  const problems = [realm.problem, proc.problem, left && `it left ${left} open`, loaded && 'it loaded new modules and changed global state'].filter(Boolean);
  return problems.length ? problems.join('; ') : undefined;
}

function cjsModules(): number {
  return Object.keys((Module as unknown as { _cache: object })._cache).length;
}

function countResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

function leftovers(): string | undefined {
  const now = countResources();
  const extra: string[] = [];
  for (const [type, n] of now) {
    const allowed = Math.max(resources!.get(type) ?? 0, type === 'CloseReq' ? closesAtStep : 0);
    const more = n - allowed;
    if (more > 0) extra.push(`${more} ${type}`);
  }
  return extra.length ? extra.join(', ') : undefined;
}
