import { createRequire } from 'node:module';

/**
 * The JavaScript realm a worker's tasks share: the global object, the built-in constructors,
 * prototypes and namespaces (JSON, Math, Reflect, Intl, ...), the hidden intrinsics (iterator
 * and generator prototypes, %TypedArray%) and the exports of the core modules a step may patch
 * (fs, path, util, module, ...; with the classes of events, stream and child_process). At start-up the worker records each one's own property
 * descriptors, [[Prototype]] and extensibility; after every task it compares them and puts
 * back what changed: properties added are deleted, changed or deleted ones redefined as they
 * were. What cannot be put back (a property made non-configurable, an object frozen or made
 * non-extensible) is reported, and the worker is retired instead of running another task.
 */

// The few intrinsics this module itself uses, captured before any task can patch them.
const { getOwnPropertyDescriptor, getPrototypeOf, setPrototypeOf, defineProperty, deleteProperty, ownKeys, isExtensible } = Reflect;
const ObjectIs = Object.is;

type Key = string | symbol;

interface Snapshot {
  obj: object;
  label: string;
  keys: Key[];
  descs: PropertyDescriptor[];
  proto: object | null;
  extensible: boolean;
}

/** Own properties whose changes are not realm state: the worker's own event plumbing. */
const SKIP = new Map<object, Set<Key>>([
  [process, new Set(['_events', '_eventsCount', '_maxListeners', 'exitCode', '_exiting', 'env', 'moduleLoadList', 'channel', '_channel', 'connected'])],
  // The run context (`current`) the worker sets for each task, before the flow module's first import.
  [globalThis, new Set([Symbol.for('flowrun.current')])],
]);

/**
 * Globals recorded with their prototypes and statics: ECMAScript's (with Intl and WebAssembly)
 * and the Node ones data code leans on. Every other global (web streams, Blob, MessageChannel,
 * performance entries, ...) is recorded as a value of the global object only, which keeps the
 * per-task check under a millisecond.
 */
const DEEP_GLOBALS = new Set([
  'Object',
  'Function',
  'Array',
  'Number',
  'Boolean',
  'String',
  'Symbol',
  'Date',
  'Promise',
  'RegExp',
  'Error',
  'AggregateError',
  'EvalError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
  'TypeError',
  'URIError',
  'JSON',
  'Math',
  'Intl',
  'ArrayBuffer',
  'SharedArrayBuffer',
  'Atomics',
  'Uint8Array',
  'Int8Array',
  'Uint16Array',
  'Int16Array',
  'Uint32Array',
  'Int32Array',
  'Float32Array',
  'Float64Array',
  'Uint8ClampedArray',
  'BigUint64Array',
  'BigInt64Array',
  'DataView',
  'Map',
  'BigInt',
  'Set',
  'WeakMap',
  'WeakSet',
  'Proxy',
  'Reflect',
  'FinalizationRegistry',
  'WeakRef',
  'WebAssembly',
  'Buffer',
  'process',
  'console',
  'URL',
  'URLSearchParams',
  'TextEncoder',
  'TextDecoder',
  'AbortController',
  'AbortSignal',
  'EventTarget',
  'Event',
]);

/** The core modules whose exports a step (or a library mocking them) is likely to patch. */
const CORE_MODULES = ['fs', 'fs/promises', 'path', 'util', 'events', 'child_process', 'stream', 'timers', 'module'];
/** Core modules whose classes' prototypes are recorded too (the ones everything else inherits from). */
const CORE_CLASSES = new Set(['events', 'stream', 'child_process']);

let snapshots: Snapshot[] = [];

/** Records the realm as it is now: call once, after the worker's own set-up and before any task. */
export function captureRealm(): void {
  snapshots = realmObjects().map(([obj, label]) => snapshot(obj, label));
}

/** Re-records one object after flowrun itself changed it on purpose (a hook installed late). */
export function recaptureObject(obj: object): void {
  const i = snapshots.findIndex((s) => s.obj === obj);
  if (i !== -1) snapshots[i] = snapshot(obj, snapshots[i]!.label);
}

/**
 * Puts back every recorded object that changed since captureRealm. Says whether anything had
 * changed, and what could not be put back (the worker must not run another task).
 */
export function restoreRealm(): { changed: boolean; problem?: string } {
  let changed = false;
  let problem: string | undefined;
  for (const s of snapshots) {
    if (same(s)) continue;
    changed = true;
    problem ??= restore(s);
  }
  return problem ? { changed, problem } : { changed };
}

function snapshot(obj: object, label: string): Snapshot {
  const skip = SKIP.get(obj);
  const keys = ownKeys(obj).filter((k) => !skip?.has(k));
  return { obj, label, keys, descs: keys.map((k) => getOwnPropertyDescriptor(obj, k)!), proto: getPrototypeOf(obj), extensible: isExtensible(obj) };
}

function same(s: Snapshot): boolean {
  const { obj } = s;
  if (getPrototypeOf(obj) !== s.proto || isExtensible(obj) !== s.extensible) return false;
  const keys = ownKeys(obj);
  const skip = SKIP.get(obj);
  let j = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (skip?.has(k)) continue;
    if (k !== s.keys[j]) return false;
    if (!sameDescriptor(getOwnPropertyDescriptor(obj, k)!, s.descs[j]!)) return false;
    j++;
  }
  return j === s.keys.length;
}

function sameDescriptor(a: PropertyDescriptor, b: PropertyDescriptor): boolean {
  return ObjectIs(a.value, b.value) && a.get === b.get && a.set === b.set && a.writable === b.writable && a.enumerable === b.enumerable && a.configurable === b.configurable;
}

function restore(s: Snapshot): string | undefined {
  const { obj, label } = s;
  if (!s.extensible || isExtensible(obj) !== s.extensible) {
    if (isExtensible(obj) !== s.extensible) return `${label} was made non-extensible (Object.freeze, seal or preventExtensions)`;
  }
  if (getPrototypeOf(obj) !== s.proto && !setPrototypeOf(obj, s.proto)) return `the prototype of ${label} was replaced and cannot be put back`;
  const skip = SKIP.get(obj);
  const wanted = new Set<Key>(s.keys);
  for (const k of ownKeys(obj)) {
    if (skip?.has(k) || wanted.has(k)) continue;
    if (!deleteProperty(obj, k)) return `${label}.${String(k)} was added as a non-configurable property`;
  }
  for (let i = 0; i < s.keys.length; i++) {
    const k = s.keys[i]!;
    const now = getOwnPropertyDescriptor(obj, k);
    if (now && sameDescriptor(now, s.descs[i]!)) continue;
    if (!defineProperty(obj, k, s.descs[i]!)) return `${label}.${String(k)} was changed and made non-configurable`;
  }
  // Deleting and redefining moves a key to the end: put the recorded order back where it differs.
  const keys = ownKeys(obj).filter((k) => !skip?.has(k));
  const from = keys.findIndex((k, i) => k !== s.keys[i]);
  if (from === -1) return undefined;
  for (let i = from; i < s.keys.length; i++) {
    const k = s.keys[i]!;
    if (typeof k === 'string' && isIndex(k)) continue; // integer keys are always listed in numeric order
    if (!s.descs[i]!.configurable) return `the order of the properties of ${label} changed and cannot be put back`;
    deleteProperty(obj, k);
    defineProperty(obj, k, s.descs[i]!);
  }
  return undefined;
}

function isIndex(k: string): boolean {
  return /^(0|[1-9]\d*)$/.test(k) && Number(k) < 2 ** 32 - 1;
}

/**
 * The objects recorded: the global object; every constructor (a function with a prototype
 * object) and namespace object reachable from it, with their prototypes; the [[Prototype]]
 * chains of all of these; the hidden intrinsics; the core modules' exports. Plain methods are
 * compared as property values, not descended into.
 */
function realmObjects(): Array<[object, string]> {
  const out: Array<[object, string]> = [];
  const seen = new Set<object>();
  const add = (o: unknown, label: string): void => {
    if ((typeof o !== 'object' && typeof o !== 'function') || o === null || seen.has(o)) return;
    seen.add(o);
    out.push([o, label]);
    add(getPrototypeOf(o), `Object.getPrototypeOf(${label})`);
    if (typeof o === 'function') {
      const p = getOwnPropertyDescriptor(o, 'prototype');
      if (p && 'value' in p) add(p.value, `${label}.prototype`);
    }
  };
  add(globalThis, 'globalThis');
  const constructorsIn = (ns: object, prefix: string): void => {
    for (const k of ownKeys(ns)) {
      const d = getOwnPropertyDescriptor(ns, k)!;
      // Classes (capitalised, with a prototype object): plain functions such as process.cwd have a prototype too.
      if ('value' in d && typeof d.value === 'function' && /^[A-Z]/.test(String(k)) && getOwnPropertyDescriptor(d.value, 'prototype')?.value) add(d.value, `${prefix}.${String(k)}`);
    }
  };
  for (const name of DEEP_GLOBALS) {
    // Read through the getter where Node defines one (Buffer, process, ...): this runs before any task.
    const v: unknown = (globalThis as Record<string, unknown>)[name];
    if (typeof v === 'function') add(v, `globalThis.${name}`);
    else if (typeof v === 'object' && v !== null) {
      add(v, `globalThis.${name}`); // a namespace (Math, JSON, Intl, process, ...) and its classes
      constructorsIn(v, `globalThis.${name}`);
    }
  }
  for (const [o, label] of hiddenIntrinsics()) add(o, label);
  const require = createRequire(import.meta.url);
  for (const name of CORE_MODULES) {
    const mod = require(name) as object;
    add(mod, `node:${name}`);
    if (CORE_CLASSES.has(name)) constructorsIn(mod, `node:${name}`);
  }
  return out;
}

function hiddenIntrinsics(): Array<[unknown, string]> {
  const gen = getPrototypeOf(function* () {}) as { prototype: object; constructor: unknown };
  const asyncGen = getPrototypeOf(async function* () {}) as { prototype: object; constructor: unknown };
  const proto = (o: object): object => getPrototypeOf(o)!;
  const arrayIterator = getPrototypeOf([][Symbol.iterator]());
  return [
    [getPrototypeOf(Int8Array), '%TypedArray%'],
    [gen.constructor, '%GeneratorFunction%'],
    [gen.prototype, '%GeneratorPrototype%'],
    [getPrototypeOf(async () => {}), '%AsyncFunction.prototype%'],
    [asyncGen.constructor, '%AsyncGeneratorFunction%'],
    [asyncGen.prototype, '%AsyncGeneratorPrototype%'],
    [proto(asyncGen.prototype), '%AsyncIteratorPrototype%'],
    [arrayIterator, '%ArrayIteratorPrototype%'],
    [proto(arrayIterator!), '%IteratorPrototype%'],
    [getPrototypeOf(new Map().entries()), '%MapIteratorPrototype%'],
    [getPrototypeOf(new Set().values()), '%SetIteratorPrototype%'],
    [getPrototypeOf(''[Symbol.iterator]()), '%StringIteratorPrototype%'],
    [getPrototypeOf(/a/[Symbol.matchAll]('')), '%RegExpStringIteratorPrototype%'],
  ];
}
