import { StoreError } from '../errors/index.js';
import { SHA256_HEX } from '../util/hash.js';
import { BINARY_KINDS, type BinaryKind, FORMAT_VERSION, type Tagged } from './format.js';

const ERRORS = { Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError };
/** Deeper than anything the encoder writes (it stops at 1,000 levels); guards the recursion. */
const MAX_DEPTH = 1200;

type TypedArrayCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView;

const TYPED: Record<Exclude<BinaryKind, 'Buffer' | 'ArrayBuffer' | 'SharedArrayBuffer' | 'DataView'>, TypedArrayCtor & { BYTES_PER_ELEMENT: number }> = {
  Uint8Array, Uint8ClampedArray, Int8Array, Uint16Array, Int16Array, Uint32Array, Int32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array,
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
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return corrupt(ctx, 'is not a valid artifact document');
  }
  if (typeof doc !== 'object' || doc === null || !('fra' in doc) || !('v' in doc)) return corrupt(ctx, 'has an unknown format tag');
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
    if (Array.isArray(t)) {
      for (let i = 0; i < t.length; i++) {
        const x = t[i]!;
        if (x !== null && typeof x === 'object') (t as unknown[])[i] = this.value(x);
      }
      return t;
    }
    if (Object.hasOwn(t, '$fr')) return this.tagged(t);
    for (const k of Object.keys(t)) {
      const x = t[k]!;
      // Assignment to an own data property (JSON.parse made it, even for "__proto__") never reaches a prototype setter.
      if (x !== null && typeof x === 'object') (t as Record<string, unknown>)[k] = this.value(x);
    }
    return t;
  }

  private tagged(t: { [key: string]: Tagged }): unknown {
    switch (t.$fr) {
      case 'num': return t.v === '-0' ? -0 : t.v === 'NaN' ? NaN : t.v === 'Infinity' ? Infinity : t.v === '-Infinity' ? -Infinity : this.bad(t);
      case 'big': return typeof t.v === 'string' && /^-?\d+$/.test(t.v) ? BigInt(t.v) : this.bad(t);
      case 'undef': return undefined;
      case 'date': return t.v === null || typeof t.v === 'number' ? new Date(t.v ?? NaN) : this.bad(t);
      case 're': {
        if (typeof t.s !== 'string' || typeof t.f !== 'string') return this.bad(t);
        try { return new RegExp(t.s, t.f); } catch { return this.bad(t); }
      }
      case 'map': return new Map(this.list(t.e).map((pair) => this.pair(pair, t)));
      case 'set': return new Set(this.list(t.e).map((x) => this.value(x)));
      case 'err': {
        const Ctor = (typeof t.n === 'string' && Object.hasOwn(ERRORS, t.n) ? ERRORS[t.n as keyof typeof ERRORS] : Error);
        const e = new Ctor(typeof t.m === 'string' ? t.m : '');
        if (typeof t.n === 'string') Object.defineProperty(e, 'name', { value: t.n, writable: true, configurable: true, enumerable: false });
        e.stack = typeof t.s === 'string' ? t.s : undefined;
        return e;
      }
      case 'sparse': {
        if (typeof t.n !== 'number' || !Number.isInteger(t.n) || t.n < 0 || t.n > 2 ** 32 - 1) return this.bad(t);
        const arr: unknown[] = new Array(t.n);
        for (const pair of this.list(t.e)) {
          const [i, v] = this.pair(pair, t);
          if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= t.n) return this.bad(t);
          arr[i] = v;
        }
        return arr;
      }
      case 'obj': {
        const out: Record<string, unknown> = t.np === 1 ? Object.create(null) as Record<string, unknown> : {};
        for (const pair of this.list(t.e)) {
          const [k, v] = this.pair(pair, t);
          if (typeof k !== 'string') return this.bad(t);
          Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
        }
        return out;
      }
      case 'bin': return this.binary(t);
      default: return this.bad(t);
    }
  }

  private list(e: Tagged | undefined): Tagged[] {
    if (!Array.isArray(e)) corrupt(this.ctx, 'has a malformed entry list');
    return e;
  }

  private pair(p: Tagged, t: Tagged): [unknown, unknown] {
    if (!Array.isArray(p) || p.length !== 2) return this.bad(t);
    return [this.value(p[0]!), this.value(p[1]!)];
  }

  private binary(t: { [key: string]: Tagged }): unknown {
    const kind = t.k as BinaryKind;
    if (!(BINARY_KINDS as readonly string[]).includes(kind)) return this.bad(t);
    let bytes: Buffer;
    if (typeof t.b === 'string') bytes = Buffer.from(t.b, 'base64');
    else if (typeof t.h === 'string' && SHA256_HEX.test(t.h)) {
      bytes = this.ctx.getBlob(t.h);
      if (typeof t.n === 'number' && bytes.byteLength !== t.n) return corrupt(this.ctx, `references blob ${t.h} of the wrong size`);
    } else return this.bad(t);
    switch (kind) {
      case 'Buffer': return bytes;
      case 'ArrayBuffer': return copyTo(new ArrayBuffer(bytes.byteLength), bytes);
      case 'SharedArrayBuffer': return copyTo(new SharedArrayBuffer(bytes.byteLength), bytes);
      // Views get memory of their own (not a slice of a pooled or file buffer), like structuredClone.
      case 'DataView': return new DataView(copyTo(new ArrayBuffer(bytes.byteLength), bytes));
      default: {
        const Ctor = TYPED[kind];
        if (bytes.byteLength % Ctor.BYTES_PER_ELEMENT !== 0) return this.bad(t);
        return new Ctor(copyTo(new ArrayBuffer(bytes.byteLength), bytes), 0, bytes.byteLength / Ctor.BYTES_PER_ELEMENT);
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
  new Uint8Array(target).set(bytes);
  return target;
}
