import { isDeepStrictEqual } from 'node:util';
import { FlowError } from '../errors/index.js';
import './metadata.js';
import type { NextCall } from '../metadata/records.js';

/** A reference to a step, as passed to `this.next(this.train)`. */
export type StepRef = (...args: never[]) => unknown;

export interface ForeachOptions {
  /** Name of an artifact holding an iterable; one task runs per item. */
  foreach: string;
}

/** The artifacts of a flow class: its non-method, non-FlowSpec properties. */
export type ArtifactsOf<T> = {
  readonly [K in keyof T as K extends keyof FlowSpec ? never : T[K] extends StepRef ? never : K]: T[K];
};

/** What a join step receives: one entry per incoming branch or foreach split, in split order. */
export type Inputs<T> = ReadonlyArray<ArtifactsOf<T>>;

export interface MergeOptions {
  /** Artifacts not to merge (resolve them yourself). */
  exclude?: readonly string[];
  /** Merge only these artifacts. */
  include?: readonly string[];
}

/** The transition a step asked for, read by the runtime after the step returns. */
export type { NextCall };

/** Per-task state the runtime attaches to a flow instance; kept off the instance so it never becomes an artifact. */
export interface TaskSlots {
  step?: string;
  hasInput: boolean;
  input?: unknown;
  index?: number;
  next?: NextCall;
  /** Set by the runtime for join inputs: each input's artifact hashes, so merges compare hashes, not values. */
  inputRefs?: WeakMap<object, Record<string, StoredRef>>;
  /** Set by the runtime: makes `name` an artifact backed by a stored object, without loading it. */
  adopt?: (name: string, ref: StoredRef) => void;
  /** Set by the runtime of a cached join: mergeArtifacts compared the inputs' hashes of `name`. */
  merged?: (name: string) => void;
}

/** A stored artifact: its object hash and encoded size. */
export interface StoredRef {
  hash: string;
  size: number;
}

const slots = new WeakMap<FlowSpec, TaskSlots>();

export function taskSlots(flow: FlowSpec): TaskSlots {
  let s = slots.get(flow);
  if (!s) {
    s = { hasInput: false };
    slots.set(flow, s);
  }
  return s;
}

/**
 * Base class of every flow. Subclass it, mark methods with `@step`, and end each step with
 * `this.next(...)`. Instance properties assigned in a step become artifacts.
 *
 * @example
 * export default class Hello extends FlowSpec {
 *   @step start() { this.greeting = 'hi'; this.next(this.end); }
 *   @step end() {}
 * }
 */
export abstract class FlowSpec {
  /**
   * Declares where the flow goes after this step: one step (linear), several (a static branch,
   * closed later by a join), or one step with `{ foreach: 'field' }` (one task per item).
   */
  next(target: StepRef, ...rest: Array<StepRef | ForeachOptions>): void {
    const s = taskSlots(this);
    if (s.next) throw new FlowError('NEXT_CALLED_TWICE', `Step ${s.step ?? '?'} called this.next() twice.`, { step: s.step, fix: 'Call this.next(...) once, at the end of the step.' });
    const call: NextCall = { targets: [] };
    for (const arg of [target, ...rest]) {
      if (typeof arg === 'function') call.targets.push(this.stepName(arg));
      else if (arg && typeof arg === 'object' && typeof arg.foreach === 'string') call.foreach = arg.foreach;
      else throw new FlowError('GRAPH_DYNAMIC_NEXT', `Step ${s.step ?? '?'} passed ${String(arg)} to this.next().`, { step: s.step, fix: 'Pass steps as this.<step> and options as { foreach: "field" }.' });
    }
    s.next = call;
  }

  /** Inside a foreach task: the item this task processes. */
  get input(): unknown {
    const s = taskSlots(this);
    if (!s.hasInput) throw new FlowError('NOT_IN_FOREACH', `this.input is only defined inside a foreach task (step ${s.step ?? '?'} is not one).`, { step: s.step });
    return s.input;
  }

  /** Inside a foreach task: the position of this task's item (0-based). */
  get index(): number {
    const s = taskSlots(this);
    if (s.index === undefined) throw new FlowError('NOT_IN_FOREACH', `this.index is only defined inside a foreach task (step ${s.step ?? '?'} is not one).`, { step: s.step });
    return s.index;
  }

  /**
   * In a join: copies every artifact on which all inputs agree onto this task. An artifact
   * whose values differ between inputs is a MERGE_CONFLICT unless excluded (or not included).
   */
  mergeArtifacts<T>(inputs: Inputs<T>, options: MergeOptions = {}): void {
    const s = taskSlots(this);
    const exclude = new Set(options.exclude ?? []);
    const include = options.include ? new Set(options.include) : undefined;
    const names = new Set<string>();
    for (const inp of inputs) for (const k of Object.keys(inp)) names.add(k);
    const conflicts: string[] = [];
    const self = this as unknown as Record<string, unknown>;
    const refs = inputs.map((i) => s.inputRefs?.get(i));
    const byHash = s.adopt !== undefined && refs.every((r) => r !== undefined);
    for (const name of names) {
      if (exclude.has(name) || (include && !include.has(name)) || (Object.hasOwn(self, name) && self[name] !== undefined)) continue;
      // As in Metaflow, an artifact set by only some inputs is merged too: there is nothing to disagree with.
      const holders = inputs.filter((i) => Object.hasOwn(i, name));
      if (byHash) {
        s.merged?.(name);
        const hashes = refs.map((r) => r![name]).filter((r): r is StoredRef => r !== undefined);
        if (hashes.every((h) => h.hash === hashes[0]!.hash)) s.adopt!(name, hashes[0]!);
        else conflicts.push(name);
        continue;
      }
      const values = holders.map((i) => (i as Record<string, unknown>)[name]);
      if (values.every((v) => isDeepStrictEqual(v, values[0]))) self[name] = values[0];
      else conflicts.push(name);
    }
    const missing = include ? [...include].filter((n) => !names.has(n)) : [];
    if (conflicts.length > 0 || missing.length > 0) {
      const parts = [conflicts.length ? `the inputs disagree on ${conflicts.join(', ')}` : '', missing.length ? `no input has ${missing.join(', ')}` : ''].filter(Boolean);
      throw new FlowError('MERGE_CONFLICT', `mergeArtifacts in step ${s.step ?? '?'}: ${parts.join('; ')}.`, {
        step: s.step,
        fix: `Set ${conflicts[0] ?? missing[0]} yourself before calling mergeArtifacts, or pass { exclude: [${conflicts.map((c) => `'${c}'`).join(', ')}] }.`,
        data: { conflicts, missing },
      });
    }
  }

  /** The step name of a method reference (found on the prototype chain, not by Function.name). */
  private stepName(fn: StepRef): string {
    for (let proto = Object.getPrototypeOf(this); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
      for (const key of Object.getOwnPropertyNames(proto)) {
        if (key !== 'constructor' && Object.getOwnPropertyDescriptor(proto, key)?.value === fn) return key;
      }
    }
    return fn.name;
  }
}
