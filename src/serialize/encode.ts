import { types } from 'node:util';
import { ArtifactError } from '../errors/index.js';
import { BINARY_KINDS, type BinaryKind, FORMAT_VERSION, type Tagged } from './format.js';

/** Binary values at least this large become their own raw object, referenced by hash. */
export const BLOB_THRESHOLD = 1 << 20;
const ERROR_NAMES = new Set(['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError']);
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
 */
export function encodeArtifact(value: unknown, ctx: EncodeContext): Buffer {
  const enc = new Encoder(ctx);
  let text: string;
  try {
    text = JSON.stringify({ fra: FORMAT_VERSION, v: enc.value(value, ctx.artifact, 0) });
  } catch (e) {
    if (e instanceof ArtifactError) throw e;
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new ArtifactError('ARTIFACT_NOT_SERIALIZABLE', `Artifact ${ctx.artifact}${ctx.step ? ` of step ${ctx.step}` : ''} cannot be stored: it is nested too deeply.`, { step: ctx.step, artifact: ctx.artifact, fix: `Keep nesting under ${MAX_DEPTH} levels.` });
    }
    if (e instanceof RangeError && /string length/i.test(e.message)) {
      throw new ArtifactError('ARTIFACT_TOO_LARGE', `Artifact ${ctx.artifact}${ctx.step ? ` of step ${ctx.step}` : ''} is too large to encode (${e.message}).`, {
        step: ctx.step, artifact: ctx.artifact, fix: 'Store large data as a Buffer or typed array (stored as raw bytes), or split it into several artifacts.',
      });
    }
    throw e;
  }
  return Buffer.from(text, 'utf8');
}

class Encoder {
  private readonly open = new Set<object>();
  constructor(private readonly ctx: EncodeContext) {}

  fail(path: string, what: string, fix = 'Artifacts are data: convert it to plain objects, arrays, Maps, Sets, Dates, BigInts, typed arrays or Buffers.'): never {
    throw new ArtifactError('ARTIFACT_NOT_SERIALIZABLE', `Artifact ${this.ctx.artifact}${this.ctx.step ? ` of step ${this.ctx.step}` : ''} cannot be stored: ${path} is ${what}.`, {
      step: this.ctx.step, artifact: this.ctx.artifact, fix, data: { path },
    });
  }

  value(v: unknown, path: string, depth: number): Tagged {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        return Number.isFinite(v) && !Object.is(v, -0) ? v : { $fr: 'num', v: Object.is(v, -0) ? '-0' : String(v) };
      case 'bigint':
        return { $fr: 'big', v: v.toString() };
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
    if (types.isProxy(obj)) return this.fail(path, 'a Proxy');
    if (this.open.has(obj)) return this.fail(path, 'a circular reference (the value contains itself)', 'Remove the cycle, e.g. store ids instead of parent links.');
    this.open.add(obj);
    try {
      return this.object(obj, path, depth + 1);
    } finally {
      this.open.delete(obj);
    }
  }

  private object(obj: object, path: string, depth: number): Tagged {
    if (Array.isArray(obj)) return this.array(obj, path, depth);
    const bin = binaryKind(obj);
    if (bin) return this.binary(obj, bin);
    const proto = Object.getPrototypeOf(obj);
    if (proto === Date.prototype) {
      const t = (obj as Date).getTime();
      return { $fr: 'date', v: Number.isNaN(t) ? null : t };
    }
    if (proto === RegExp.prototype) return { $fr: 're', s: (obj as RegExp).source, f: (obj as RegExp).flags };
    if (proto === Map.prototype) {
      const e: Tagged[] = [];
      let i = 0;
      for (const [k, val] of obj as Map<unknown, unknown>) { e.push([this.value(k, `${path}.keys()[${i}]`, depth), this.value(val, `${path}.get(${keyLabel(k)})`, depth)]); i++; }
      return { $fr: 'map', e };
    }
    if (proto === Set.prototype) {
      const e: Tagged[] = [];
      let i = 0;
      for (const val of obj as Set<unknown>) e.push(this.value(val, `${path}.values()[${i++}]`, depth));
      return { $fr: 'set', e };
    }
    if (obj instanceof Error && (proto === Error.prototype || (Object.getPrototypeOf(proto) === Error.prototype && ERROR_NAMES.has(obj.constructor.name)))) {
      return { $fr: 'err', n: obj.name, m: obj.message, s: obj.stack ?? null };
    }
    if (proto !== Object.prototype && proto !== null) {
      const name = (proto as { constructor?: { name?: string } }).constructor?.name;
      if (types.isWeakMap(obj) || types.isWeakSet(obj)) return this.fail(path, `a ${types.isWeakMap(obj) ? 'WeakMap' : 'WeakSet'} (its entries cannot be read)`);
      if (types.isPromise(obj)) return this.fail(path, 'a Promise', 'Await it in the step and store the result.');
      if (types.isBoxedPrimitive(obj)) return this.fail(path, 'a boxed primitive', 'Store the primitive value instead.');
      return this.fail(path, `an instance of class ${name || '(anonymous)'}`, 'Store plain data (e.g. { ...obj } or a toJSON() result); loading an artifact never runs class code.');
    }
    return this.plain(obj as Record<string, unknown>, path, depth, proto === null);
  }

  private plain(obj: Record<string, unknown>, path: string, depth: number, nullProto: boolean): Tagged {
    if (Object.getOwnPropertySymbols(obj).length > 0) return this.fail(path, 'an object with symbol keys');
    const keys = Object.keys(obj);
    const descriptors = Object.getOwnPropertyDescriptors(obj);
    let entries = nullProto;
    for (const k of keys) {
      if (descriptors[k]!.get || descriptors[k]!.set) return this.fail(`${path}${member(k)}`, 'a getter/setter property', 'Store the value itself, not an accessor.');
      if (k === '$fr' || k === '__proto__') entries = true;
    }
    if (entries) {
      return { $fr: 'obj', ...(nullProto ? { np: 1 } : {}), e: keys.map((k) => [k, this.value(descriptors[k]!.value, `${path}${member(k)}`, depth)]) };
    }
    const out: Record<string, Tagged> = {};
    for (const k of keys) out[k] = this.value(descriptors[k]!.value, `${path}${member(k)}`, depth);
    return out;
  }

  private array(arr: unknown[], path: string, depth: number): Tagged {
    const keys = Object.keys(arr);
    const named = keys.find((k) => !isIndex(k));
    if (named !== undefined) return this.fail(`${path}${member(named)}`, 'a named property on an array (such as a RegExp match result)', 'Store it as a plain object, e.g. { items: [...], note }.');
    if (keys.length !== arr.length) {
      // Sparse (holes), possibly with a huge length: store only the present indices.
      const e: Tagged[] = [];
      for (const k of keys) {
        const i = Number(k);
        if (Number.isInteger(i) && i >= 0 && String(i) === k) e.push([i, this.value(arr[i], `${path}[${i}]`, depth)]);
      }
      return { $fr: 'sparse', n: arr.length, e };
    }
    const out: Tagged[] = new Array(arr.length);
    for (let i = 0; i < arr.length; i++) {
      const d = Object.getOwnPropertyDescriptor(arr, i)!;
      if (d.get || d.set) return this.fail(`${path}[${i}]`, 'a getter/setter element');
      out[i] = this.value(d.value, `${path}[${i}]`, depth);
    }
    return out;
  }

  private binary(obj: object, kind: BinaryKind): Tagged {
    const bytes = binaryBytes(obj);
    if (bytes.byteLength >= BLOB_THRESHOLD) return { $fr: 'bin', k: kind, h: this.ctx.putBlob(bytes), n: bytes.byteLength };
    return { $fr: 'bin', k: kind, b: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
  }
}

function binaryKind(obj: object): BinaryKind | undefined {
  if (Buffer.isBuffer(obj)) return 'Buffer';
  if (types.isArrayBuffer(obj)) return 'ArrayBuffer';
  if (types.isSharedArrayBuffer(obj)) return 'SharedArrayBuffer';
  if (types.isDataView(obj)) return 'DataView';
  if (ArrayBuffer.isView(obj)) {
    const name = Object.prototype.toString.call(obj).slice(8, -1);
    return (BINARY_KINDS as readonly string[]).includes(name) ? (name as BinaryKind) : undefined;
  }
  return undefined;
}

/** The bytes a binary value covers (a view's own range only), without copying. */
function binaryBytes(obj: object): Uint8Array {
  if (types.isArrayBuffer(obj) || types.isSharedArrayBuffer(obj)) return new Uint8Array(obj as ArrayBuffer);
  const view = obj as ArrayBufferView;
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

const IDENT = /^[A-Za-z_$][\w$]*$/;
function isIndex(k: string): boolean {
  const i = Number(k);
  return Number.isInteger(i) && i >= 0 && i < 2 ** 32 - 1 && String(i) === k;
}
function member(k: string): string {
  return IDENT.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
}
function keyLabel(k: unknown): string {
  return typeof k === 'string' ? JSON.stringify(k) : typeof k === 'number' || typeof k === 'boolean' ? String(k) : '…';
}
