import { ArtifactError } from '../errors/index.js';
import {
  ArrayBufferIsView,
  ArrayIsArray,
  ArrayPrototype,
  ArrayPrototypeIncludes,
  ArrayPrototypePush,
  BigIntPrototypeToString,
  BufferFrom,
  BufferIsBuffer,
  BufferPrototypeToString,
  DataViewPrototypeGetBuffer,
  DataViewPrototypeGetByteLength,
  DataViewPrototypeGetByteOffset,
  DatePrototype,
  DatePrototypeGetTime,
  ErrorPrototype,
  JSONStringify,
  MapPrototype,
  NumberIsFinite,
  NumberIsInteger,
  ObjectCreate,
  TypedArrayPrototypeGetKind,
  ObjectGetOwnPropertyDescriptor,
  ObjectGetOwnPropertyDescriptors,
  ObjectGetOwnPropertySymbols,
  ObjectGetPrototypeOf,
  ObjectHasOwn,
  ObjectIs,
  ObjectKeys,
  ObjectPrototype,
  ObjectPrototypeIsPrototypeOf,
  RegExpPrototype,
  RegExpPrototypeExec,
  RegExpPrototypeGetFlags,
  RegExpPrototypeGetSource,
  SafeSet,
  SetPrototype,
  TypedArrayPrototypeGetBuffer,
  TypedArrayPrototypeGetByteLength,
  TypedArrayPrototypeGetByteOffset,
  Uint8ArrayCtor,
  ArrayBufferPrototypeGetByteLength,
  SharedArrayBufferPrototypeGetByteLength,
  forEachMapEntry,
  forEachSetValue,
  isArrayBuffer,
  isBoxedPrimitive,
  isDataView,
  isPromise,
  isProxy,
  isSharedArrayBuffer,
  isWeakMap,
  isWeakSet,
} from '../util/primordials.js';
import { BINARY_KINDS, type BinaryKind, FORMAT_VERSION, type Tagged } from './format.js';

/** Binary values at least this large become their own raw object, referenced by hash. */
export const BLOB_THRESHOLD = 1 << 20;
const ERROR_NAMES = ['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError'];
/** Kept well under the stack depth the recursive encoder can reach (~1,300 levels). */
export const MAX_DEPTH = 1000;

export interface EncodeContext {
  step?: string;
  artifact: string;
  /** Stores a large binary payload as its own object and returns its hash. */
  putBlob: (bytes: Uint8Array) => string;
}

/**
 * Encodes a value as canonical, versioned bytes: a JSON document `{"fra":1,"v":…}` where values
 * JSON cannot hold are tagged objects (`{"$fr":"map","e":[…]}`). The same value built the same
 * way always gives the same bytes, on every Node version (JSON.stringify and number formatting
 * are specified), unlike v8.serialize. Throws ARTIFACT_NOT_SERIALIZABLE naming the path.
 * Runs on captured built-ins (util/primordials.ts): what a step patched cannot change the bytes.
 */
export function encodeArtifact(value: unknown, ctx: EncodeContext): Buffer {
  const enc = new Encoder(ctx);
  let text: string;
  try {
    const doc: Tagged = { fra: FORMAT_VERSION, v: enc.value(value, ctx.artifact, 0) };
    text = jsonHooksPristine() ? JSONStringify(doc) : writeJson(doc);
  } catch (e) {
    if (e instanceof ArtifactError) throw e;
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new ArtifactError('ARTIFACT_NOT_SERIALIZABLE', `Artifact ${ctx.artifact}${ctx.step ? ` of step ${ctx.step}` : ''} cannot be stored: it is nested too deeply.`, { step: ctx.step, artifact: ctx.artifact, fix: `Keep nesting under ${MAX_DEPTH} levels.` });
    }
    if (e instanceof RangeError && /string length/i.test(e.message)) {
      throw new ArtifactError('ARTIFACT_TOO_LARGE', `Artifact ${ctx.artifact}${ctx.step ? ` of step ${ctx.step}` : ''} is too large to encode (${e.message}).`, {
        step: ctx.step,
        artifact: ctx.artifact,
        fix: 'Store large data as a Buffer or typed array (stored as raw bytes), or split it into several artifacts.',
      });
    }
    throw e;
  }
  return BufferFrom(text, 'utf8');
}

/**
 * Whether JSON.stringify would write the encoder's tree as is: it looks up `toJSON` on every
 * object it writes, so one a step left on Object.prototype or Array.prototype (and could not
 * be removed) would replace values. Checked on own properties of the captured prototypes only.
 */
function jsonHooksPristine(): boolean {
  return !ObjectHasOwn(ObjectPrototype, 'toJSON') && !ObjectHasOwn(ArrayPrototype, 'toJSON') && ObjectGetPrototypeOf(ArrayPrototype) === ObjectPrototype;
}

/** JSON.stringify of the encoder's tree (plain objects, arrays, strings, finite numbers, booleans, null) without looking up anything. */
export function writeJson(t: Tagged): string {
  if (t === null) return 'null';
  if (typeof t === 'string' || typeof t === 'number') return JSONStringify(t);
  if (typeof t === 'boolean') return t ? 'true' : 'false';
  if (ArrayIsArray(t)) {
    let out = '[';
    for (let i = 0; i < t.length; i++) out += `${i ? ',' : ''}${t[i] === undefined ? 'null' : writeJson(t[i]!)}`;
    return `${out}]`;
  }
  const keys = ObjectKeys(t);
  let out = '{';
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const v = t[keys[i]!];
    if (v === undefined) continue;
    out += `${first ? '' : ','}${JSONStringify(keys[i]!)}:${writeJson(v)}`;
    first = false;
  }
  return `${out}}`;
}

class Encoder {
  private readonly open = new SafeSet<object>();
  constructor(private readonly ctx: EncodeContext) {}

  fail(path: string, what: string, fix = 'Artifacts are data: convert it to plain objects, arrays, Maps, Sets, Dates, BigInts, typed arrays or Buffers.'): never {
    throw new ArtifactError('ARTIFACT_NOT_SERIALIZABLE', `Artifact ${this.ctx.artifact}${this.ctx.step ? ` of step ${this.ctx.step}` : ''} cannot be stored: ${path} is ${what}.`, {
      step: this.ctx.step,
      artifact: this.ctx.artifact,
      fix,
      data: { path },
    });
  }

  value(v: unknown, path: string, depth: number): Tagged {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        return NumberIsFinite(v) && !ObjectIs(v, -0) ? v : { $fr: 'num', v: ObjectIs(v, -0) ? '-0' : `${v}` };
      case 'bigint':
        return { $fr: 'big', v: BigIntPrototypeToString(v) };
      case 'undefined':
        return { $fr: 'undef' };
      case 'symbol':
        return this.fail(path, 'a symbol');
      case 'function':
        return this.fail(path, `a function${v.name ? ` (${v.name})` : ''}`);
    }
    if (v === null) return null;
    if (depth > MAX_DEPTH) return this.fail(path, `nested deeper than ${MAX_DEPTH} levels`);
    const obj = v as object;
    if (isProxy(obj)) return this.fail(path, 'a Proxy');
    if (this.open.has(obj)) return this.fail(path, 'a circular reference (the value contains itself)', 'Remove the cycle, e.g. store ids instead of parent links.');
    this.open.add(obj);
    try {
      return this.object(obj, path, depth + 1);
    } finally {
      this.open.delete(obj);
    }
  }

  private object(obj: object, path: string, depth: number): Tagged {
    if (ArrayIsArray(obj)) return this.array(obj, path, depth);
    const bin = binaryKind(obj);
    if (bin) return this.binary(obj, bin);
    const proto = ObjectGetPrototypeOf(obj);
    if (proto === DatePrototype) {
      const t = DatePrototypeGetTime(obj as Date);
      // biome-ignore lint/suspicious/noSelfCompare: the NaN test that needs no Number.isNaN, which a step may have patched.
      return { $fr: 'date', v: t !== t ? null : t };
    }
    if (proto === RegExpPrototype) return { $fr: 're', s: RegExpPrototypeGetSource(obj as RegExp), f: RegExpPrototypeGetFlags(obj as RegExp) };
    if (proto === MapPrototype) {
      const e: Tagged[] = [];
      let i = 0;
      forEachMapEntry(obj as Map<unknown, unknown>, (k, val) => {
        ArrayPrototypePush(e, [this.value(k, `${path}.keys()[${i}]`, depth), this.value(val, `${path}.get(${keyLabel(k)})`, depth)]);
        i++;
      });
      return { $fr: 'map', e };
    }
    if (proto === SetPrototype) {
      const e: Tagged[] = [];
      let i = 0;
      forEachSetValue(obj as Set<unknown>, (val) => {
        ArrayPrototypePush(e, this.value(val, `${path}.values()[${i++}]`, depth));
      });
      return { $fr: 'set', e };
    }
    if (ObjectPrototypeIsPrototypeOf(ErrorPrototype, obj) && (proto === ErrorPrototype || (ObjectGetPrototypeOf(proto) === ErrorPrototype && ArrayPrototypeIncludes(ERROR_NAMES, ownData(proto, 'constructor')?.name)))) {
      const err = obj as Error;
      return { $fr: 'err', n: err.name, m: err.message, s: err.stack ?? null };
    }
    if (proto !== ObjectPrototype && proto !== null) {
      const name = ownData(proto, 'constructor')?.name;
      if (isWeakMap(obj) || isWeakSet(obj)) return this.fail(path, `a ${isWeakMap(obj) ? 'WeakMap' : 'WeakSet'} (its entries cannot be read)`);
      if (isPromise(obj)) return this.fail(path, 'a Promise', 'Await it in the step and store the result.');
      if (isBoxedPrimitive(obj)) return this.fail(path, 'a boxed primitive', 'Store the primitive value instead.');
      const cls = typeof name === 'string' && name ? name : '(anonymous)';
      // A plain path (model, model.layers) can be shown as code; a Map entry's cannot.
      const expr = RegExpPrototypeExec(/^[\w$.]+$/, path) !== null ? `this.${path}` : 'the value';
      return this.fail(
        path,
        `an instance of class ${cls}`,
        `Store a plain object instead: ${expr === 'the value' ? 'copy its fields ({ ...value })' : `${expr} = { ...${expr} }`}, or the result of a toJSON() method of ${cls}; rebuild the ${cls} from it in the step that reads it. Loading an artifact never runs class code.`,
      );
    }
    return this.plain(obj as Record<string, unknown>, path, depth, proto === null);
  }

  private plain(obj: Record<string, unknown>, path: string, depth: number, nullProto: boolean): Tagged {
    if (ObjectGetOwnPropertySymbols(obj).length > 0) return this.fail(path, 'an object with symbol keys');
    const keys = ObjectKeys(obj);
    const descriptors = ObjectGetOwnPropertyDescriptors(obj);
    let entries = nullProto;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (descriptors[k]!.get || descriptors[k]!.set) return this.fail(`${path}${member(k)}`, 'a getter/setter property', 'Store the value itself, not an accessor.');
      if (k === '$fr' || k === '__proto__') entries = true;
    }
    if (entries) {
      const e: Tagged[] = [];
      for (let i = 0; i < keys.length; i++) ArrayPrototypePush(e, [keys[i]!, this.value(descriptors[keys[i]!]!.value, `${path}${member(keys[i]!)}`, depth)]);
      return { $fr: 'obj', ...(nullProto ? { np: 1 } : {}), e };
    }
    // No prototype: writing a key never reaches a setter a step may have left on Object.prototype.
    const out = ObjectCreate(null) as Record<string, Tagged>;
    for (let i = 0; i < keys.length; i++) out[keys[i]!] = this.value(descriptors[keys[i]!]!.value, `${path}${member(keys[i]!)}`, depth);
    return out;
  }

  private array(arr: unknown[], path: string, depth: number): Tagged {
    const keys = ObjectKeys(arr);
    let named: string | undefined;
    for (let i = 0; i < keys.length && named === undefined; i++) if (!isIndex(keys[i]!)) named = keys[i];
    if (named !== undefined) return this.fail(`${path}${member(named)}`, 'a named property on an array (such as a RegExp match result)', 'Store it as a plain object, e.g. { items: [...], note }.');
    if (keys.length !== arr.length) {
      // Sparse (holes), possibly with a huge length: store only the present indices.
      const e: Tagged[] = [];
      for (let j = 0; j < keys.length; j++) {
        const k = keys[j]!;
        const i = Number(k);
        if (!(NumberIsInteger(i) && i >= 0 && `${i}` === k)) continue;
        const d = ObjectGetOwnPropertyDescriptor(arr, i)!;
        if (d.get || d.set) return this.fail(`${path}[${i}]`, 'a getter/setter element');
        ArrayPrototypePush(e, [i, this.value(d.value, `${path}[${i}]`, depth)]);
      }
      return { $fr: 'sparse', n: arr.length, e };
    }
    const out: Tagged[] = [];
    for (let i = 0; i < arr.length; i++) {
      const d = ObjectGetOwnPropertyDescriptor(arr, i)!;
      if (d.get || d.set) return this.fail(`${path}[${i}]`, 'a getter/setter element');
      ArrayPrototypePush(out, this.value(d.value, `${path}[${i}]`, depth));
    }
    return out;
  }

  private binary(obj: object, kind: BinaryKind): Tagged {
    const bytes = binaryBytes(obj);
    const n = TypedArrayPrototypeGetByteLength(bytes);
    if (n >= BLOB_THRESHOLD) return { $fr: 'bin', k: kind, h: this.ctx.putBlob(bytes), n };
    return { $fr: 'bin', k: kind, b: BufferPrototypeToString(BufferFrom(TypedArrayPrototypeGetBuffer(bytes) as ArrayBuffer, TypedArrayPrototypeGetByteOffset(bytes), n), 'base64') };
  }
}

/** An own data property's value (never a getter's, never an inherited one). */
function ownData(obj: object, key: string): { name?: unknown } | undefined {
  const d = ObjectGetOwnPropertyDescriptor(obj, key);
  return d && 'value' in d ? (d.value as { name?: unknown }) : undefined;
}

function binaryKind(obj: object): BinaryKind | undefined {
  if (BufferIsBuffer(obj)) return 'Buffer';
  if (isArrayBuffer(obj)) return 'ArrayBuffer';
  if (isSharedArrayBuffer(obj)) return 'SharedArrayBuffer';
  if (isDataView(obj)) return 'DataView';
  if (ArrayBufferIsView(obj)) {
    const name = TypedArrayPrototypeGetKind(obj);
    return name !== undefined && ArrayPrototypeIncludes(BINARY_KINDS, name) ? (name as BinaryKind) : undefined;
  }
  return undefined;
}

/** The bytes a binary value covers (a view's own range only), without copying. */
function binaryBytes(obj: object): Uint8Array {
  if (isArrayBuffer(obj)) return new Uint8ArrayCtor(obj as ArrayBuffer, 0, ArrayBufferPrototypeGetByteLength(obj as ArrayBuffer));
  if (isSharedArrayBuffer(obj)) return new Uint8ArrayCtor(obj as SharedArrayBuffer, 0, SharedArrayBufferPrototypeGetByteLength(obj as SharedArrayBuffer));
  if (isDataView(obj)) return new Uint8ArrayCtor(DataViewPrototypeGetBuffer(obj as DataView), DataViewPrototypeGetByteOffset(obj as DataView), DataViewPrototypeGetByteLength(obj as DataView));
  const view = obj as ArrayBufferView;
  return new Uint8ArrayCtor(TypedArrayPrototypeGetBuffer(view), TypedArrayPrototypeGetByteOffset(view), TypedArrayPrototypeGetByteLength(view));
}

const IDENT = /^[A-Za-z_$][\w$]*$/;
function isIndex(k: string): boolean {
  const i = Number(k);
  return NumberIsInteger(i) && i >= 0 && i < 2 ** 32 - 1 && `${i}` === k;
}
function member(k: string): string {
  return RegExpPrototypeExec(IDENT, k) ? `.${k}` : `[${JSONStringify(k)}]`;
}
function keyLabel(k: unknown): string {
  return typeof k === 'string' ? JSONStringify(k) : typeof k === 'number' || typeof k === 'boolean' ? `${k}` : '…';
}
