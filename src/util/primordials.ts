import { createHash } from 'node:crypto';
import { types } from 'node:util';

/**
 * The built-ins flowrun's code beside user steps relies on (artifact encoding and decoding,
 * object hashing and reading), captured when this module is first evaluated: before any task
 * runs in a worker. A step that replaces JSON.stringify, Buffer.prototype.toString or
 * Map.prototype[Symbol.iterator] changes nothing here, as Node's core keeps its own
 * "primordials". Methods are uncurried (`fn(self, ...args)`) so that a patched
 * Function.prototype.call cannot reach them either. Code using these avoids the other ways
 * user code gets in: for-of and spread over arrays, maps and sets (the iterator protocol),
 * assignments to keys an object does not own (setters on a prototype), instanceof.
 */

type Method<T, A extends unknown[], R> = (this: T, ...args: A) => R;
const { bind, call } = Function.prototype;
const uncurry = bind.bind(call) as <T, A extends unknown[], R>(fn: Method<T, A, R>) => (self: T, ...args: A) => R;

export const JSONStringify = JSON.stringify;
export const JSONParse = JSON.parse;

export const ObjectKeys = Object.keys;
export const ObjectGetPrototypeOf = Object.getPrototypeOf;
export const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
export const ObjectGetOwnPropertyDescriptors = Object.getOwnPropertyDescriptors;
export const ObjectGetOwnPropertySymbols = Object.getOwnPropertySymbols;
export const ObjectDefineProperty = Object.defineProperty;
export const ObjectHasOwn = Object.hasOwn;
export const ObjectCreate = Object.create;
export const ObjectIs = Object.is;
export const ObjectFreeze = Object.freeze;
export const ObjectPrototype = Object.prototype;
export const ObjectPrototypeToString = uncurry(Object.prototype.toString as Method<unknown, [], string>);
export const ObjectPrototypeIsPrototypeOf = uncurry(Object.prototype.isPrototypeOf as Method<object, [unknown], boolean>);

export const ArrayIsArray = Array.isArray;
export const ArrayPrototype = Array.prototype;
export const ArrayPrototypePush = uncurry(Array.prototype.push as Method<unknown[], unknown[], number>);
export const ArrayPrototypeIncludes = uncurry(Array.prototype.includes as Method<readonly unknown[], [unknown], boolean>);
export const ArrayPrototypeJoin = uncurry(Array.prototype.join as Method<readonly unknown[], [string], string>);
export const ArrayPrototypeSort = uncurry(Array.prototype.sort as Method<unknown[], [((a: never, b: never) => number)?], unknown[]>);

/**
 * Milliseconds of a monotonic clock, as the worker started: a task may replace Date.now or
 * performance.now (even non-configurably), which must not stall flowrun's own waits. From
 * process.hrtime: the global `performance` would load perf_hooks (8 of Node's modules) into every
 * worker before its first task (issue #18).
 */
const hrtimeBigint = process.hrtime.bigint;
const NumberCtor = Number;
export const monotonicNow = (): number => NumberCtor(hrtimeBigint()) / 1e6;

export const NumberIsFinite = Number.isFinite;
export const NumberIsInteger = Number.isInteger;
export const StringPrototypeSlice = uncurry(String.prototype.slice as Method<string, [number?, number?], string>);
export const BigIntCtor = BigInt;
export const BigIntPrototypeToString = uncurry(BigInt.prototype.toString as Method<bigint, [], string>);

export const RegExpCtor = RegExp;
export const RegExpPrototype = RegExp.prototype;
export const RegExpPrototypeExec = uncurry(RegExp.prototype.exec as Method<RegExp, [string], RegExpExecArray | null>);
export const RegExpPrototypeGetSource = uncurry(Object.getOwnPropertyDescriptor(RegExp.prototype, 'source')!.get as Method<RegExp, [], string>);
export const RegExpPrototypeGetFlags = uncurry(Object.getOwnPropertyDescriptor(RegExp.prototype, 'flags')!.get as Method<RegExp, [], string>);
export const DateCtor = Date;
export const DatePrototype = Date.prototype;
export const DatePrototypeGetTime = uncurry(Date.prototype.getTime as Method<Date, [], number>);
export const ErrorPrototype = Error.prototype;

export const MapCtor = Map;
export const MapPrototype = Map.prototype;
export const MapPrototypeSet = uncurry(Map.prototype.set as Method<Map<unknown, unknown>, [unknown, unknown], Map<unknown, unknown>>);
export const MapPrototypeEntries = uncurry(Map.prototype.entries as Method<Map<unknown, unknown>, [], IterableIterator<[unknown, unknown]>>);
const MapIteratorNext = uncurry(Object.getPrototypeOf(new Map().entries()).next as Method<Iterator<[unknown, unknown]>, [], IteratorResult<[unknown, unknown]>>);
export const SetCtor = Set;
export const SetPrototype = Set.prototype;
export const SetPrototypeAdd = uncurry(Set.prototype.add as Method<Set<unknown>, [unknown], Set<unknown>>);
export const SetPrototypeHas = uncurry(Set.prototype.has as Method<Set<unknown>, [unknown], boolean>);
export const SetPrototypeDelete = uncurry(Set.prototype.delete as Method<Set<unknown>, [unknown], boolean>);
export const SetPrototypeValues = uncurry(Set.prototype.values as Method<Set<unknown>, [], IterableIterator<unknown>>);
const SetIteratorNext = uncurry(Object.getPrototypeOf(new Set().values()).next as Method<Iterator<unknown>, [], IteratorResult<unknown>>);

/** Calls `fn(key, value)` for each entry of a Map, without the (patchable) iterator protocol. */
export function forEachMapEntry(map: Map<unknown, unknown>, fn: (key: unknown, value: unknown) => void): void {
  const it = MapPrototypeEntries(map);
  for (let r = MapIteratorNext(it); !r.done; r = MapIteratorNext(it)) fn(r.value[0], r.value[1]);
}

/** Calls `fn(value)` for each value of a Set, without the (patchable) iterator protocol. */
export function forEachSetValue(set: Set<unknown>, fn: (value: unknown) => void): void {
  const it = SetPrototypeValues(set);
  for (let r = SetIteratorNext(it); !r.done; r = SetIteratorNext(it)) fn(r.value);
}

/** A Set whose methods are the captured ones. */
export class SafeSet<T> {
  private readonly set = new SetCtor<T>();
  has(v: T): boolean {
    return SetPrototypeHas(this.set as Set<unknown>, v);
  }
  add(v: T): void {
    SetPrototypeAdd(this.set as Set<unknown>, v);
  }
  delete(v: T): void {
    SetPrototypeDelete(this.set as Set<unknown>, v);
  }
}

export const BufferFrom = Buffer.from.bind(Buffer) as typeof Buffer.from;
/** Buffer.isBuffer (an instanceof, which a step can bend with Buffer[Symbol.hasInstance]). */
export const BufferIsBuffer = (v: unknown): v is Buffer => ObjectPrototypeIsPrototypeOf(Buffer.prototype, v);
export const BufferPrototypeToString = uncurry(Buffer.prototype.toString as Method<Buffer, [BufferEncoding?, number?, number?], string>);
export const ArrayBufferCtor = ArrayBuffer;
export const SharedArrayBufferCtor = SharedArrayBuffer;
export const DataViewCtor = DataView;
export const Uint8ArrayCtor = Uint8Array;
export const ArrayBufferIsView = ArrayBuffer.isView;
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const typedGetter = <R>(name: string) => uncurry(Object.getOwnPropertyDescriptor(TypedArrayPrototype, name)!.get as Method<ArrayBufferView, [], R>);
export const TypedArrayPrototypeGetBuffer = typedGetter<ArrayBufferLike>('buffer');
export const TypedArrayPrototypeGetByteOffset = typedGetter<number>('byteOffset');
export const TypedArrayPrototypeGetByteLength = typedGetter<number>('byteLength');
/** The kind of a typed array ('Uint8Array', ...), undefined for anything else: %TypedArray%.prototype[@@toStringTag]. */
export const TypedArrayPrototypeGetKind = uncurry(Object.getOwnPropertyDescriptor(TypedArrayPrototype, Symbol.toStringTag)!.get as Method<unknown, [], string | undefined>);
export const TypedArrayPrototypeSubarray = uncurry((TypedArrayPrototype as Uint8Array).subarray as Method<Uint8Array, [number?, number?], Uint8Array>);
export const TypedArrayPrototypeSet = uncurry((TypedArrayPrototype as Uint8Array).set as Method<Uint8Array, [ArrayLike<number>, number?], void>);
export const ArrayBufferPrototypeGetByteLength = uncurry(Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')!.get as Method<ArrayBuffer, [], number>);
export const SharedArrayBufferPrototypeGetByteLength = uncurry(Object.getOwnPropertyDescriptor(SharedArrayBuffer.prototype, 'byteLength')!.get as Method<SharedArrayBuffer, [], number>);
export const DataViewPrototypeGetBuffer = uncurry(Object.getOwnPropertyDescriptor(DataView.prototype, 'buffer')!.get as Method<DataView, [], ArrayBufferLike>);
export const DataViewPrototypeGetByteOffset = uncurry(Object.getOwnPropertyDescriptor(DataView.prototype, 'byteOffset')!.get as Method<DataView, [], number>);
export const DataViewPrototypeGetByteLength = uncurry(Object.getOwnPropertyDescriptor(DataView.prototype, 'byteLength')!.get as Method<DataView, [], number>);

export const { isProxy, isWeakMap, isWeakSet, isPromise, isBoxedPrimitive, isArrayBuffer, isSharedArrayBuffer, isDataView } = types;

/** Defined (as true) in the CLI bundle only (tools/build-cli.ts): a process that runs no user code. */
declare const FLOWRUN_CLI_BUNDLE: true | undefined;

interface HashMethods {
  update: (self: unknown, data: string | Uint8Array) => unknown;
  digest: (self: unknown, encoding: 'hex') => string;
}

function captureHashMethods(): HashMethods {
  const proto = Object.getPrototypeOf(createHash('sha256')) as { update: Method<unknown, [string | Uint8Array], unknown>; digest: Method<unknown, ['hex'], string> };
  return { update: uncurry(proto.update), digest: uncurry(proto.digest) };
}

// Captured now, with the rest, wherever steps run or a script imports flowrun. The CLI process
// never runs user code, so there the capture waits for the first hash: node:crypto brings ~40 of
// Node's own modules that `flow inspect` and `flow --version` never use (issue #18).
let hashMethods: HashMethods | undefined = typeof FLOWRUN_CLI_BUNDLE === 'undefined' ? captureHashMethods() : undefined;

/** sha256 hex of bytes or a string, with the captured Hash methods. */
export function sha256Hex(data: string | Uint8Array): string {
  return sha256HexOfPieces((update) => update(data));
}

/** sha256 hex of data given in pieces: `feed` passes each, in order, to `update`. */
export function sha256HexOfPieces(feed: (update: (data: string | Uint8Array) => void) => void): string {
  const methods = (hashMethods ??= captureHashMethods());
  const h = createHash('sha256');
  feed((data) => methods.update(h, data));
  return methods.digest(h, 'hex');
}
