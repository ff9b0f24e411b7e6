import { syncBuiltinESMExports } from 'node:module';
import timers from 'node:timers';
import { promisify } from 'node:util';

/**
 * The process-wide state a task can leave behind besides the realm: environment variables,
 * working directory, exitCode, umask, listeners on `process`, and timers. The worker records
 * them before its first task and puts them back after each one; the timers a task created and
 * left pending are cancelled (a task ends when its step returns, as a process would exit).
 */

type Listener = (...args: unknown[]) => unknown;

interface Baseline {
  env: Map<string, string>;
  cwd: string;
  umask: number;
  listeners: Map<string | symbol, Listener[]>;
  maxListeners: number;
}

let base: Baseline | undefined;
// Captured before any task could replace them.
const { clearTimeout: cancelTimeout, clearImmediate: cancelImmediate } = timers;
/** Timers created since the task began and not yet fired or known cleared. */
const pending = new Set<NodeJS.Timeout | NodeJS.Immediate>();

/** Records the state now; call once after the worker's own set-up. */
export function captureProcessState(): void {
  const umask = process.umask(0o022);
  process.umask(umask);
  base = {
    env: new Map(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined)),
    cwd: process.cwd(),
    umask,
    listeners: new Map(process.eventNames().map((n) => [n, process.rawListeners(n) as Listener[]])),
    maxListeners: process.getMaxListeners(),
  };
}

/**
 * Cancels the task's pending timers and puts the recorded state back. Says whether the state
 * had changed, and why the process cannot be reused (its working directory is gone).
 */
export function restoreProcessState(): { changed: boolean; problem?: string } {
  const b = base!;
  for (const t of pending) clearTimer(t);
  pending.clear();
  process.exitCode = undefined;
  let changed = process.umask(b.umask) !== b.umask;
  changed = restoreEnv(b.env) || changed;
  changed = restoreListeners(b.listeners) || changed;
  if (process.getMaxListeners() !== b.maxListeners) {
    process.setMaxListeners(b.maxListeners);
    changed = true;
  }
  if (process.cwd() !== b.cwd) {
    changed = true;
    try {
      process.chdir(b.cwd);
    } catch {
      return { changed, problem: `its working directory ${b.cwd} cannot be entered again` };
    }
  }
  return { changed };
}

function restoreEnv(env: Map<string, string>): boolean {
  let changed = false;
  for (const k of Object.keys(process.env))
    if (!env.has(k)) {
      delete process.env[k];
      changed = true;
    }
  for (const [k, v] of env)
    if (process.env[k] !== v) {
      process.env[k] = v;
      changed = true;
    }
  return changed;
}

function restoreListeners(wanted: Map<string | symbol, Listener[]>): boolean {
  let changed = false;
  for (const name of new Set([...process.eventNames(), ...wanted.keys()])) {
    const now = process.rawListeners(name) as Listener[];
    const want = wanted.get(name) ?? [];
    if (now.length === want.length && now.every((l, i) => l === want[i])) continue;
    changed = true;
    process.removeAllListeners(name);
    for (const l of want) process.on(name, l);
  }
  return changed;
}

function clearTimer(t: NodeJS.Timeout | NodeJS.Immediate): void {
  if (typeof (t as NodeJS.Timeout).refresh === 'function') cancelTimeout(t as NodeJS.Timeout);
  else cancelImmediate(t as NodeJS.Immediate);
}

/**
 * Wraps setTimeout, setInterval and setImmediate (global and node:timers) so that the timers a
 * task starts are known; the wrappers are installed once, before the realm is recorded.
 */
export function trackTimers(): void {
  const wrap = <F extends (cb: (...a: unknown[]) => void, ...rest: unknown[]) => NodeJS.Timeout | NodeJS.Immediate>(original: F, once: boolean): F => {
    const wrapped = {
      [original.name](this: unknown, cb: unknown, ...rest: unknown[]) {
        if (typeof cb !== 'function') return original.call(this, cb as never, ...rest);
        let t: NodeJS.Timeout | NodeJS.Immediate;
        const fire = function (this: unknown, ...args: unknown[]) {
          if (once) pending.delete(t);
          return (cb as Listener).apply(this, args);
        };
        t = original.call(this, fire, ...rest);
        pending.add(t);
        return t;
      },
    }[original.name] as unknown as F;
    const custom = (original as unknown as Record<symbol, unknown>)[promisify.custom];
    if (custom) Object.defineProperty(wrapped, promisify.custom, { value: custom, configurable: true, writable: true, enumerable: false });
    return wrapped;
  };
  const t = timers as unknown as Record<string, never>;
  const g = globalThis as unknown as Record<string, never>;
  for (const [name, once] of [
    ['setTimeout', true],
    ['setInterval', false],
    ['setImmediate', true],
  ] as const) {
    const w = wrap(g[name] as never, once);
    g[name] = w as never;
    t[name] = w as never;
  }
  syncBuiltinESMExports();
}
