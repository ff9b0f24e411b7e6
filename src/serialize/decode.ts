import { StoreError } from '../errors/index.js';
import { SHA256_HEX } from '../util/hash.js';
import {
  ArrayBufferCtor,
  ArrayIsArray,
  ArrayPrototypeIncludes,
  BigIntCtor,
  BufferFrom,
  BufferPrototypeToString,
  DataViewCtor,
  DateCtor,
  JSONParse,
  MapCtor,
  MapPrototypeSet,
  NumberIsInteger,
  ObjectCreate,
  ObjectDefineProperty,
  ObjectHasOwn,
  ObjectKeys,
  RegExpCtor,
  RegExpPrototypeExec,
  SetCtor,
  SetPrototypeAdd,
  SharedArrayBufferCtor,
  TypedArrayPrototypeGetBuffer,
  TypedArrayPrototypeGetByteLength,
  TypedArrayPrototypeGetByteOffset,
  TypedArrayPrototypeSet,
  Uint8ArrayCtor,
} from '../util/primordials.js';
import { BINARY_KINDS, type BinaryKind, FORMAT_VERSION, type Tagged } from './format.js';

const ERRORS = { Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError };
const ErrorCtor = Error;
/** Deeper than anything the encoder writes (it stops at 1,000 levels); guards the recursion. */
const MAX_DEPTH = 1200;

type TypedArrayCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView;

const TYPED: Record<Exclude<BinaryKind, 'Buffer' | 'ArrayBuffer' | 'SharedArrayBuffer' | 'DataView'>, TypedArrayCtor & { BYTES_PER_ELEMENT: number }> = {
  Uint8Array,
  Uint8ClampedArray,
  Int8Array,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

export interface DecodeContext {
  /** Which object is being decoded, for error messages. */
  hash?: string;
  getBlob: (hash: string) => Buffer;
}

/**
 * Decodes bytes written by encodeArtifact. Only JSON.parse and constructors of a fixed list of
 * data types run: loading an artifact never executes code from the store, and keys such as
 * `__proto__` become own properties, never prototypes.
 */
export function decodeArtifact(bytes: Uint8Array, ctx: DecodeContext): unknown {
  let doc: unknown;
  try {
    const text = BufferPrototypeToString(BufferFrom(TypedArrayPrototypeGetBuffer(bytes) as ArrayBuffer, TypedArrayPrototypeGetByteOffset(bytes), TypedArrayPrototypeGetByteLength(bytes)), 'utf8');
    doc = JSONParse(text);
  } catch {
    return corrupt(ctx, 'is not a valid artifact document');
  }
  if (typeof doc !== 'object' || doc === null || !ObjectHasOwn(doc, 'fra') || !ObjectHasOwn(doc, 'v')) return corrupt(ctx, 'has an unknown format tag');
  const version = (doc as { fra: unknown }).fra;
  if (typeof version !== 'number') return corrupt(ctx, 'has an unknown format tag');
  if (version > FORMAT_VERSION) {
    throw new StoreError('STORE_VERSION_UNSUPPORTED', `Artifact object ${ctx.hash ?? ''} was written by a newer flowrun (artifact format ${version}).`, { fix: 'Upgrade flowrun.' });
  }
  try {
    return new Decoder(ctx).value((doc as { v: Tagged }).v);
  } catch (e) {
    if (e instanceof RangeError) return corrupt(ctx, 'is nested too deeply to decode');
    throw e;
  }
}

function corrupt(ctx: DecodeContext, what: string): never {
  throw new StoreError('STORE_CORRUPT_OBJECT', `Artifact object ${ctx.hash ?? ''} ${what}.`, { fix: 'Run flow fsck; a copy of the store (or, once mirrors exist, flow pull) can restore it.' });
}

class Decoder {
  private depth = 0;
  constructor(private readonly ctx: DecodeContext) {}

  value(t: Tagged): unknown {
    if (t === null || typeof t !== 'object') return t;
    if (++this.depth > MAX_DEPTH) return corrupt(this.ctx, 'is nested too deeply to decode');
    try {
      return this.inner(t);
    } finally {
      this.depth--;
    }
  }

  private inner(t: Exclude<Tagged, null | boolean | number | string>): unknown {
    if (ArrayIsArray(t)) {
      for (let i = 0; i < t.length; i++) {
        const x = t[i]!;
        if (x !== null && typeof x === 'object') (t as unknown[])[i] = this.value(x);
      }
      return t;
    }
    if (ObjectHasOwn(t, '$fr')) return this.tagged(own(t));
    const keys = ObjectKeys(t);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const x = t[k]!;
      // Assignment to an own data property (JSON.parse made it, even for "__proto__") never reaches a prototype setter.
      if (x !== null && typeof x === 'object') (t as Record<string, unknown>)[k] = this.value(x);
    }
    return t;
  }

  /** `t` holds only its own fields (a copy without prototype): a field it lacks is never read from Object.prototype. */
  private tagged(t: { [key: string]: Tagged }): unknown {
    switch (t.$fr) {
      case 'num':
        return t.v === '-0' ? -0 : t.v === 'NaN' ? NaN : t.v === 'Infinity' ? Infinity : t.v === '-Infinity' ? -Infinity : this.bad(t);
      case 'big':
        return typeof t.v === 'string' && RegExpPrototypeExec(INTEGER, t.v) ? BigIntCtor(t.v) : this.bad(t);
      case 'undef':
        return undefined;
      case 'date':
        return t.v === null || typeof t.v === 'number' ? new DateCtor(t.v ?? NaN) : this.bad(t);
      case 're': {
        if (typeof t.s !== 'string' || typeof t.f !== 'string') return this.bad(t);
        try {
          return new RegExpCtor(t.s, t.f);
        } catch {
          return this.bad(t);
        }
      }
      case 'map': {
        const m = new MapCtor<unknown, unknown>();
        const e = this.list(t.e);
        for (let i = 0; i < e.length; i++) {
          const p = this.pair(e[i]!, t);
          MapPrototypeSet(m, p[0], p[1]);
        }
        return m;
      }
      case 'set': {
        const set = new SetCtor<unknown>();
        const e = this.list(t.e);
        for (let i = 0; i < e.length; i++) SetPrototypeAdd(set, this.value(e[i]!));
        return set;
      }
      case 'err': {
        const Ctor = typeof t.n === 'string' && ObjectHasOwn(ERRORS, t.n) ? ERRORS[t.n as keyof typeof ERRORS] : ErrorCtor;
        const e = new Ctor(typeof t.m === 'string' ? t.m : '');
        if (typeof t.n === 'string') ObjectDefineProperty(e, 'name', { value: t.n, writable: true, configurable: true, enumerable: false });
        // Assigned (an own property of every error): redefining it would format the stack first.
        e.stack = typeof t.s === 'string' ? t.s : undefined;
        return e;
      }
      case 'sparse': {
        if (typeof t.n !== 'number' || !NumberIsInteger(t.n) || t.n < 0 || t.n > 2 ** 32 - 1) return this.bad(t);
        const arr: unknown[] = [];
        arr.length = t.n;
        const e = this.list(t.e);
        for (let j = 0; j < e.length; j++) {
          const p = this.pair(e[j]!, t);
          const i = p[0];
          const v = p[1];
          if (typeof i !== 'number' || !NumberIsInteger(i) || i < 0 || i >= t.n) return this.bad(t);
          ObjectDefineProperty(arr, i, { value: v, writable: true, enumerable: true, configurable: true });
        }
        return arr;
      }
      case 'obj': {
        const out: Record<string, unknown> = t.np === 1 ? (ObjectCreate(null) as Record<string, unknown>) : {};
        const e = this.list(t.e);
        for (let j = 0; j < e.length; j++) {
          const p = this.pair(e[j]!, t);
          const k = p[0];
          const v = p[1];
          if (typeof k !== 'string') return this.bad(t);
          ObjectDefineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
        }
        return out;
      }
      case 'bin':
        return this.binary(t);
      default:
        return this.bad(t);
    }
  }

  private list(e: Tagged | undefined): Tagged[] {
    if (!ArrayIsArray(e)) corrupt(this.ctx, 'has a malformed entry list');
    return e;
  }

  /** A two-element entry's decoded key and value (read by index: destructuring would use the iterator protocol). */
  private pair(p: Tagged, t: Tagged): { 0: unknown; 1: unknown } {
    if (!ArrayIsArray(p) || p.length !== 2) return this.bad(t);
    const out = ObjectCreate(null) as { 0: unknown; 1: unknown };
    out[0] = this.value(p[0]!);
    out[1] = this.value(p[1]!);
    return out;
  }

  private binary(t: { [key: string]: Tagged }): unknown {
    const kind = t.k as BinaryKind;
    if (!ArrayPrototypeIncludes(BINARY_KINDS, kind)) return this.bad(t);
    let bytes: Buffer;
    if (typeof t.b === 'string') bytes = BufferFrom(t.b, 'base64');
    else if (typeof t.h === 'string' && RegExpPrototypeExec(SHA256_HEX, t.h)) {
      bytes = this.ctx.getBlob(t.h);
      if (typeof t.n === 'number' && TypedArrayPrototypeGetByteLength(bytes) !== t.n) return corrupt(this.ctx, `references blob ${t.h} of the wrong size`);
    } else return this.bad(t);
    const n = TypedArrayPrototypeGetByteLength(bytes);
    switch (kind) {
      case 'Buffer':
        return bytes;
      case 'ArrayBuffer':
        return copyTo(new ArrayBufferCtor(n), bytes);
      case 'SharedArrayBuffer':
        return copyTo(new SharedArrayBufferCtor(n), bytes);
      // Views get memory of their own (not a slice of a pooled or file buffer), like structuredClone.
      case 'DataView':
        return new DataViewCtor(copyTo(new ArrayBufferCtor(n), bytes));
      default: {
        const Ctor = TYPED[kind];
        if (n % Ctor.BYTES_PER_ELEMENT !== 0) return this.bad(t);
        return new Ctor(copyTo(new ArrayBufferCtor(n), bytes), 0, n / Ctor.BYTES_PER_ELEMENT);
      }
    }
  }

  private bad(t: Tagged): never {
    // The tag itself may be hostile (an object whose toString is not a function): never String() it.
    const tag = typeof t === 'object' && t !== null && !Array.isArray(t) && typeof t.$fr === 'string' ? `'${t.$fr.slice(0, 40)}' ` : '';
    return corrupt(this.ctx, `holds a malformed ${tag}value`);
  }
}

function copyTo<T extends ArrayBufferLike>(target: T, bytes: Buffer): T {
  TypedArrayPrototypeSet(new Uint8ArrayCtor(target), bytes);
  return target;
}

const INTEGER = /^-?\d+$/;

/** A tagged object's own fields, on an object without prototype. */
function own(t: { [key: string]: Tagged }): { [key: string]: Tagged } {
  const out = ObjectCreate(null) as { [key: string]: Tagged };
  const keys = ObjectKeys(t);
  for (let i = 0; i < keys.length; i++) out[keys[i]!] = t[keys[i]!]!;
  return out;
}
