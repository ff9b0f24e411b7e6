import type { ReadRecorder } from './artifacts.js';
import type { TaskReads } from './protocol.js';

/**
 * Notes what a task of a cached step reads: inherited artifacts and parameters (through their
 * getters), join inputs, the foreach item, Math.random and the clock. The step cache keys the
 * task by these reads' hashes, which only the orchestrator knows; the worker sends names.
 */
export class TaskReadLog implements ReadRecorder {
  private readonly artifacts = new Set<string>();
  private readonly params = new Set<string>();
  private readonly inputs: Array<Set<string>> = [];
  item = false;
  random = false;
  clock = false;

  constructor(inputCount = 0) {
    for (let i = 0; i < inputCount; i++) this.inputs.push(new Set());
  }

  artifact(name: string): void {
    this.artifacts.add(name);
  }
  param(name: string): void {
    this.params.add(name);
  }
  input(index: number, name: string): void {
    this.inputs[index]?.add(name);
  }

  result(carried: TaskReads['carried']): TaskReads {
    const sorted = (s: Set<string>) => [...s].sort();
    const out: TaskReads = { artifacts: sorted(this.artifacts), params: sorted(this.params), carried: { artifacts: [...carried.artifacts].sort(), params: [...carried.params].sort() } };
    if (this.inputs.length > 0) out.inputs = this.inputs.map(sorted);
    if (this.item) out.item = true;
    if (this.random) out.random = true;
    if (this.clock) out.clock = true;
    return out;
  }
}

/** Math.random for the task, noting that it was called. */
export function noteRandom(random: () => number, log: TaskReadLog): () => number {
  return function random_() {
    log.random = true;
    return random();
  };
}

/**
 * Notes reads of the clock: `Date.now()`, `new Date()` and `Date()` (a Date built from a
 * value is not a clock read). The global Date becomes a Proxy of itself for the task; the
 * realm check puts the original back when the task ends, like any global a task changes.
 */
export function noteClock(log: TaskReadLog): void {
  const RealDate = Date;
  const now = RealDate.now;
  const trackedNow = function now_() {
    log.clock = true;
    return now();
  };
  const proxy: DateConstructor = new Proxy(RealDate, {
    construct(target, args, newTarget) {
      if (args.length === 0) log.clock = true;
      return Reflect.construct(target, args, newTarget === proxy ? target : newTarget) as object;
    },
    apply(target, self, args) {
      log.clock = true;
      return Reflect.apply(target, self, args) as unknown;
    },
    get(target, prop) {
      return prop === 'now' ? trackedNow : (Reflect.get(target, prop, target) as unknown);
    },
  });
  globalThis.Date = proxy;
  // So that `new Date().constructor === Date` still holds in the step (put back with the realm).
  Object.defineProperty(RealDate.prototype, 'constructor', { value: proxy, writable: true, enumerable: false, configurable: true });
}
