import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { isFlowError, StoreError } from '../../src/errors/index.js';
import { decodeArtifact } from '../../src/serialize/decode.js';
import { BLOB_THRESHOLD, encodeArtifact } from '../../src/serialize/encode.js';
import { LocalStore } from '../../src/store/local.js';
import { tempDir } from '../helpers/cli.js';

// ---------------------------------------------------------------------------------------------
// helpers

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** An in-memory blob store; it copies on put and on get, as a real store would. */
class MemBlobs {
  readonly blobs = new Map<string, Buffer>();
  readonly puts: number[] = [];
  readonly putBlob = (bytes: Uint8Array): string => {
    const h = sha256(bytes);
    this.blobs.set(h, Buffer.from(bytes));
    this.puts.push(bytes.byteLength);
    return h;
  };
  readonly getBlob = (hash: string): Buffer => {
    const b = this.blobs.get(hash);
    if (!b) throw new StoreError('STORE_MISSING_OBJECT', `blob ${hash} is missing`);
    return Buffer.from(b);
  };
}

function encode(value: unknown, blobs = new MemBlobs(), artifact = 'model'): Buffer {
  return encodeArtifact(value, { step: 'train', artifact, putBlob: blobs.putBlob });
}

function decode(bytes: Uint8Array, blobs = new MemBlobs()): unknown {
  return decodeArtifact(bytes, { hash: 'test', getBlob: blobs.getBlob });
}

function decodeText(text: string): unknown {
  return decode(Buffer.from(text, 'utf8'));
}

/** Encodes, decodes, and checks that re-encoding the decoded value gives the same bytes. */
function roundTrip<T>(value: T, blobs = new MemBlobs()): T {
  const bytes = encode(value, blobs);
  const decoded = decode(bytes, blobs) as T;
  expect(encode(decoded, blobs).equals(bytes), `re-encoding changed the bytes of ${bytes.toString().slice(0, 200)}`).toBe(true);
  return decoded;
}

/** The exception a function throws (fails when it returns). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw, but the call returned');
}

function expectNotSerializable(value: unknown, path: string): void {
  const err = thrown(() => encode(value));
  expect(isFlowError(err), `not a FlowError: ${String(err)}`).toBe(true);
  if (!isFlowError(err)) return;
  expect({ name: err.name, code: err.code, exitCode: err.exitCode, path: err.data?.path, step: err.location.step, artifact: err.location.artifact }).toEqual({ name: 'ArtifactError', code: 'ARTIFACT_NOT_SERIALIZABLE', exitCode: 1, path, step: 'train', artifact: 'model' });
  expect(err.message).toContain(path);
  expect(err.message).toContain('train');
}

function expectStoreError(err: unknown, code: string): void {
  expect(isFlowError(err), `not a FlowError: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`).toBe(true);
  if (!isFlowError(err)) return;
  expect({ name: err.name, code: err.code, exitCode: err.exitCode }, err.message).toEqual({ name: 'StoreError', code, exitCode: 3 });
}

type View = ArrayBufferView;
const bytesOf = (v: View | ArrayBufferLike): Buffer => (ArrayBuffer.isView(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.from(v));

/** One of every binary kind, with awkward contents (NaN, -0, extremes). */
function binaries(): Record<string, View | ArrayBufferLike> {
  const sab = new SharedArrayBuffer(5);
  new Uint8Array(sab).set([1, 2, 3, 250, 255]);
  return {
    Buffer: Buffer.from('héllo\0wörld'),
    Uint8Array: new Uint8Array([0, 1, 255]),
    Uint8ClampedArray: new Uint8ClampedArray([0, 128, 255]),
    Int8Array: new Int8Array([-128, 0, 127]),
    Uint16Array: new Uint16Array([0, 1, 65535]),
    Int16Array: new Int16Array([-32768, 0, 32767]),
    Uint32Array: new Uint32Array([0, 1, 2 ** 32 - 1]),
    Int32Array: new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1]),
    Float32Array: new Float32Array([1.5, -0, NaN, Infinity, -Infinity, 3.4e38]),
    Float64Array: new Float64Array([Math.PI, -0, NaN, Number.MAX_VALUE, Number.MIN_VALUE, -Infinity]),
    BigInt64Array: new BigInt64Array([-(2n ** 63n), 0n, 2n ** 63n - 1n]),
    BigUint64Array: new BigUint64Array([0n, 2n ** 64n - 1n]),
    DataView: new DataView(new Uint8Array([9, 8, 7, 6]).buffer),
    ArrayBuffer: new Uint8Array([1, 2, 3]).buffer,
    SharedArrayBuffer: sab,
    EmptyFloat64Array: new Float64Array(0),
  };
}

/** Checks a decoded binary value against the original: same constructor, same bytes. */
function expectSameBinary(decoded: unknown, original: View | ArrayBufferLike, label: string): void {
  expect((decoded as object).constructor.name, label).toBe(original.constructor.name);
  expect(Object.prototype.toString.call(decoded), label).toBe(Object.prototype.toString.call(original));
  expect(Buffer.isBuffer(decoded), label).toBe(Buffer.isBuffer(original));
  expect(bytesOf(decoded as View | ArrayBufferLike).equals(bytesOf(original)), label).toBe(true);
}

afterEach(() => {
  // A pollution test that failed must not poison the ones after it.
  const proto = Object.prototype as Record<string, unknown>;
  if (Object.hasOwn(proto, 'polluted')) {
    delete proto.polluted;
    throw new Error('Object.prototype was polluted');
  }
});

// ---------------------------------------------------------------------------------------------

describe('round trips', () => {
  it('primitives, including the numbers JSON cannot hold', () => {
    const values: unknown[] = [null, undefined, true, false, '', 'plain', 'ünïcödé 🚀 \u2028 \0', '\ud800 lone surrogate', '"quoted" \\ back', 0, 1, -1, 0.1, 1e21, -1e-7, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, Number.MIN_VALUE, -0, NaN, Infinity, -Infinity, 0n, -1n, 2n ** 200n, -(3n ** 99n)];
    for (const v of values) {
      const back = roundTrip(v);
      expect(Object.is(back, v), String(v)).toBe(true);
    }
    const nested = roundTrip({ z: -0, n: NaN, inf: [Infinity, -Infinity], big: 10n ** 30n, u: undefined });
    expect(Object.is(nested.z, -0)).toBe(true);
    expect(Object.is(nested.n, NaN)).toBe(true);
    expect(nested.inf).toStrictEqual([Infinity, -Infinity]);
    expect(nested.big).toBe(10n ** 30n);
    expect(Object.hasOwn(nested, 'u') && nested.u === undefined).toBe(true);
    expect(nested).toStrictEqual({ z: -0, n: NaN, inf: [Infinity, -Infinity], big: 10n ** 30n, u: undefined });
  });

  it('Dates, valid and invalid', () => {
    for (const d of [new Date(0), new Date('2024-02-29T12:34:56.789Z'), new Date(-8.64e15), new Date(8.64e15)]) {
      const back = roundTrip(d);
      expect(back).toBeInstanceOf(Date);
      expect(back.getTime()).toBe(d.getTime());
      expect(back).toStrictEqual(d);
    }
    const invalid = roundTrip({ when: new Date('not a date') });
    expect(Object.getPrototypeOf(invalid.when)).toBe(Date.prototype);
    expect(Number.isNaN(invalid.when.getTime())).toBe(true);
  });

  it('RegExps with their flags', () => {
    // biome-ignore lint/complexity/useRegexLiterals: tsc rejects the `v` flag in a literal below target ES2024.
    for (const re of [/a+b/gi, /^\/path\/(?<name>[^/]+)$/u, /x/dmsy, new RegExp('[\\]\\\\]', 'v')]) {
      const back = roundTrip(re);
      expect(Object.getPrototypeOf(back)).toBe(RegExp.prototype);
      expect([back.source, back.flags]).toEqual([re.source, re.flags]);
      expect(back).toStrictEqual(re);
    }
  });

  it('Maps and Sets, in order, with any keys, nested', () => {
    const objKey = { id: 1 };
    const value = new Map<unknown, unknown>([
      ['b', 1],
      ['a', 2],
      [NaN, 'nan'],
      [undefined, null],
      [3n, new Set([1, '1', 1n])],
      [objKey, new Map([[new Date(5), [1, 2, { deep: new Set([new Map([['x', -0]])]) }]]])],
    ]);
    const back = roundTrip(value);
    expect(back).toStrictEqual(value);
    expect(isDeepStrictEqual(back, value)).toBe(true);
    expect([...back.keys()].slice(0, 4)).toStrictEqual(['b', 'a', NaN, undefined]);
    const set = roundTrip(new Set(['z', 'a', 3, { o: 1 }, [1]]));
    expect([...set]).toStrictEqual(['z', 'a', 3, { o: 1 }, [1]]);
    expect(Object.getPrototypeOf(set)).toBe(Set.prototype);
  });

  it('Errors, with name, message and stack', () => {
    const e = new Error('it broke');
    const back = roundTrip({ err: e }).err;
    expect(Object.getPrototypeOf(back)).toBe(Error.prototype);
    expect([back.name, back.message, back.stack]).toEqual([e.name, e.message, e.stack]);
    expect(back).toStrictEqual(e);
    expect(isDeepStrictEqual(back, e)).toBe(true);
  });

  it.each([TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError].map((C) => [C.name, C] as const))('a %s keeps its class (as structured clone does)', (_name, Ctor) => {
    const e = new Ctor('typed failure');
    const back = roundTrip(e);
    expect(back).toBeInstanceOf(Ctor);
    expect(Object.getPrototypeOf(back)).toBe(Ctor.prototype);
    expect([back.name, back.message, back.stack]).toEqual([e.name, e.message, e.stack]);
    expect(isDeepStrictEqual(back, e)).toBe(true);
  });

  it('sparse arrays keep their holes, even with a huge length', () => {
    // eslint-disable-next-line no-sparse-arrays
    const holes = [1, , 3, , undefined];
    const back = roundTrip(holes);
    expect(back.length).toBe(5);
    expect([1 in back, 3 in back, 4 in back]).toEqual([false, false, true]);
    expect(back).toStrictEqual(holes);
    expect(isDeepStrictEqual(back, holes)).toBe(true);
    expect(roundTrip(new Array(7))).toStrictEqual(new Array(7));

    const huge: unknown[] = [];
    huge[2 ** 32 - 2] = 'last';
    huge[10] = { ten: 10 };
    const hugeBack = roundTrip(huge);
    expect(hugeBack.length).toBe(2 ** 32 - 1);
    expect(Object.keys(hugeBack)).toEqual(['10', String(2 ** 32 - 2)]);
    expect(hugeBack[10]).toStrictEqual({ ten: 10 });
    expect(hugeBack[2 ** 32 - 2]).toBe('last');
  });

  it('an array with a named property (e.g. a RegExp match) keeps it or is refused, never silently loses it', () => {
    for (const arr of ['flowrun'.match(/(?<mid>ow)/) as unknown[], Object.assign([1, 2], { note: 'kept?' })]) {
      let back: unknown;
      try {
        back = decode(encode(arr));
      } catch (e) {
        expect(isFlowError(e) && e.code === 'ARTIFACT_NOT_SERIALIZABLE', String(e)).toBe(true);
        continue;
      }
      expect(Object.keys(back as object)).toEqual(Object.keys(arr));
      expect(isDeepStrictEqual(back, arr)).toBe(true);
    }
  });

  it('an array with holes and a named property does not crash the encoder', () => {
    // eslint-disable-next-line no-sparse-arrays
    const arr = Object.assign([1, , 3], { note: 'x' });
    let back: unknown;
    try {
      back = decode(encode(arr));
    } catch (e) {
      expect(isFlowError(e) && e.code === 'ARTIFACT_NOT_SERIALIZABLE', `${(e as Error).name}: ${(e as Error).message}`).toBe(true);
      return;
    }
    expect((back as unknown[]).length).toBe(3);
    expect(1 in (back as unknown[])).toBe(false);
  });

  it('null-prototype objects keep a null prototype', () => {
    const np = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, nested: Object.assign(Object.create(null) as object, { b: 2 }) });
    const back = roundTrip({ np });
    expect(Object.getPrototypeOf(back.np)).toBeNull();
    expect(Object.getPrototypeOf(back.np.nested)).toBeNull();
    expect(back).toStrictEqual({ np });
    expect(isDeepStrictEqual(back, { np })).toBe(true);
    const empty = roundTrip(Object.create(null) as object);
    expect(Object.getPrototypeOf(empty)).toBeNull();
  });

  it('objects with "__proto__" and "$fr" keys keep them as own data', () => {
    const withProto = JSON.parse('{"a":1,"__proto__":{"polluted":1},"z":[1]}') as Record<string, unknown>;
    const withTag = { $fr: 'map', e: [['k', 'v']] };
    const both = { inner: { $fr: { $fr: 'undef' } }, withProto, list: [withTag] };
    const back = roundTrip(both);
    expect(Object.getPrototypeOf(back.withProto)).toBe(Object.prototype);
    expect(Object.hasOwn(back.withProto, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(back.withProto, '__proto__')?.value).toStrictEqual({ polluted: 1 });
    expect(Object.keys(back.withProto)).toEqual(['a', '__proto__', 'z']);
    expect(back.list[0]).toStrictEqual(withTag);
    expect(back.inner).toStrictEqual({ $fr: { $fr: 'undef' } });
    expect(isDeepStrictEqual(back, both)).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('every binary kind, inline, with its constructor and bytes', () => {
    const all = binaries();
    const back = roundTrip(all);
    for (const [kind, original] of Object.entries(all)) expectSameBinary(back[kind], original, kind);
    expect(back).toStrictEqual(all);
  });

  it('decoded typed arrays, DataViews and ArrayBuffers own exactly their bytes (no shared pool, no header)', () => {
    const all = binaries();
    const back = roundTrip(all);
    const leaky: string[] = [];
    for (const [kind, v] of Object.entries(back)) {
      if (kind === 'Buffer' || !ArrayBuffer.isView(v)) continue;
      if (v.byteOffset !== 0 || v.buffer.byteLength !== v.byteLength) leaky.push(`${kind}: byteOffset ${v.byteOffset}, buffer ${v.buffer.byteLength} bytes for ${v.byteLength}`);
    }
    expect(leaky).toEqual([]);
  });

  it('binary values nested in objects, arrays, Maps and Sets', () => {
    const value = {
      weights: [new Float32Array([1, 2]), new Map([['bias', new Float64Array([0.5])]])],
      raw: new Set([Buffer.from('abc')]),
    };
    const back = roundTrip(value);
    expectSameBinary(back.weights[0], value.weights[0] as Float32Array, 'weights[0]');
    expectSameBinary((back.weights[1] as Map<string, Float64Array>).get('bias'), new Float64Array([0.5]), 'bias');
    expectSameBinary([...back.raw][0], Buffer.from('abc'), 'raw');
    expect(back).toStrictEqual(value);
  });

  it('everything at once, nested', () => {
    const build = (): unknown => ({
      params: { lr: 0.01, layers: [64, 32], act: 'relu', seed: 42n, started: new Date(1_700_000_000_000) },
      history: new Map<string, unknown>([
        ['loss', [0.9, 0.5, NaN]],
        ['when', new Set([new Date(0)])],
      ]),
      // eslint-disable-next-line no-sparse-arrays
      misc: [undefined, null, -0, Infinity, /re/g, new Error('e'), [, 1], { $fr: 1 }],
      blob: new Uint16Array([1, 2, 3]),
    });
    const v = build();
    const back = roundTrip(v);
    expect(back).toStrictEqual(v);
  });
});

describe('canonical bytes', () => {
  const build = () => ({
    name: 'model',
    n: [1, -0, NaN, 1e-7],
    m: new Map<unknown, unknown>([
      ['b', 1n],
      [2, new Set(['x'])],
    ]),
    d: new Date(86_400_000),
    bin: new Float64Array([1, 2, 3]),
    big: Buffer.from('bytes'),
    u: undefined,
    np: Object.assign(Object.create(null) as object, { k: 'v' }),
    re: /x+/g,
  });

  it('encoding the same value twice gives identical bytes', () => {
    const v = build();
    expect(encode(v).equals(encode(v))).toBe(true);
  });

  it('two separately built equal values give identical bytes', () => {
    const a = build();
    const b = build();
    expect(a).not.toBe(b);
    expect(encode(a).equals(encode(b))).toBe(true);
  });

  it('the document is versioned JSON: {"fra":1,"v":…}', () => {
    expect(encode({ a: 1 }).toString('utf8')).toBe('{"fra":1,"v":{"a":1}}');
    expect(JSON.parse(encode(build()).toString('utf8'))).toMatchObject({ fra: 1 });
  });

  it('key insertion order is part of the value and survives a round trip', () => {
    const back = decode(encode({ b: 1, a: 2, c: { y: 1, x: 2 } })) as Record<string, Record<string, number>>;
    expect(Object.keys(back)).toEqual(['b', 'a', 'c']);
    expect(Object.keys(back.c!)).toEqual(['y', 'x']);
  });
});

describe('blobs (binary values of 1 MiB or more)', () => {
  it('a 2 MiB Buffer and a 2 MiB Float64Array go through putBlob and come back equal', () => {
    const blobs = new MemBlobs();
    const buf = randomBytes(2 << 20);
    const f64 = new Float64Array((2 << 20) / 8).map((_, i) => Math.sin(i) * 1e6);
    f64[0] = -0;
    f64[1] = NaN;
    const bytes = encode({ buf, f64 }, blobs);
    expect(bytes.byteLength).toBeLessThan(1024);
    expect(blobs.puts).toEqual([2 << 20, 2 << 20]);
    expect(blobs.blobs.has(sha256(buf))).toBe(true);
    expect(bytes.toString()).toContain(sha256(buf));
    const back = decode(bytes, blobs) as { buf: Buffer; f64: Float64Array };
    expectSameBinary(back.buf, buf, 'buf');
    expectSameBinary(back.f64, f64, 'f64');
    expect(Object.is(back.f64[0], -0) && Number.isNaN(back.f64[1])).toBe(true);
    // isDeepStrictEqual, not toStrictEqual: vitest compares 2 MiB typed arrays element by element (20 s).
    expect(isDeepStrictEqual(back, { buf, f64 })).toBe(true);
    expect(encode(back, blobs).equals(bytes)).toBe(true);
  });

  it('the threshold is BLOB_THRESHOLD bytes: one byte less stays inline', () => {
    const blobs = new MemBlobs();
    encode(new Uint8Array(BLOB_THRESHOLD - 1), blobs);
    expect(blobs.puts).toEqual([]);
    encode(new Uint8Array(BLOB_THRESHOLD), blobs);
    expect(blobs.puts).toEqual([BLOB_THRESHOLD]);
  });

  it('a view over part of a bigger ArrayBuffer only stores its own bytes', () => {
    const blobs = new MemBlobs();
    const big = new ArrayBuffer(6 << 20);
    new Uint8Array(big).set(randomBytes(6 << 20));
    const view = new Float32Array(big, 1 << 20, (2 << 20) / 4);
    const small = new Uint8Array(big, 5, 20);
    const bytes = encode({ view, small }, blobs);
    expect(blobs.puts).toEqual([2 << 20]);
    expect([...blobs.blobs.values()][0]!.equals(bytesOf(view))).toBe(true);
    expect(bytes.byteLength).toBeLessThan(1024);
    const back = decode(bytes, blobs) as { view: Float32Array; small: Uint8Array };
    expectSameBinary(back.view, view, 'view');
    expectSameBinary(back.small, small, 'small');
    expect(back.view.length).toBe(view.length);
    expect(back.small.length).toBe(20);
  });

  it('blobs stored in a LocalStore come back equal and own their bytes', () => {
    const store = LocalStore.open(join(tempDir(), 'store'));
    const ctx = { putBlob: (b: Uint8Array) => store.putObjectSync(b), getBlob: (h: string) => store.getObjectSync(h) };
    const value = { f32: new Float32Array(randomBytes(2 << 20).buffer), u8: new Uint8Array(2 << 20).fill(7), dv: new DataView(randomBytes(2 << 20).buffer) };
    const bytes = encodeArtifact(value, { artifact: 'model', ...ctx });
    const back = decodeArtifact(bytes, { hash: sha256(bytes), ...ctx }) as typeof value;
    for (const k of ['f32', 'u8', 'dv'] as const) {
      expectSameBinary(back[k], value[k], k);
      expect([back[k].byteOffset, back[k].buffer.byteLength], k).toEqual([0, back[k].byteLength]);
    }
  });

  it('a blob of the wrong size or a missing blob is a StoreError', () => {
    const blobs = new MemBlobs();
    const bytes = encode(new Uint8Array(2 << 20), blobs);
    const hash = [...blobs.blobs.keys()][0]!;
    blobs.blobs.set(hash, Buffer.alloc(10));
    expectStoreError(
      thrown(() => decode(bytes, blobs)),
      'STORE_CORRUPT_OBJECT',
    );
    blobs.blobs.clear();
    expectStoreError(
      thrown(() => decode(bytes, blobs)),
      'STORE_MISSING_OBJECT',
    );
  });
});

describe('refusals name the exact path', () => {
  class Adam {
    lr = 0.1;
  }
  const getter = {
    cfg: {
      get lr() {
        return 1;
      },
    },
  };
  const circular: { child: { parent?: unknown } } = { child: {} };
  circular.child.parent = circular;
  const selfArray: unknown[] = [1];
  selfArray.push({ back: selfArray });

  it.each<[string, unknown, string]>([
    ['a function', { layers: [0, 1, 2, { fn: () => 1 }] }, 'model.layers[3].fn'],
    [
      'a function at the top',
      function train() {
        return 1;
      },
      'model',
    ],
    ['a class method', { opt: { step: Adam.prototype.constructor } }, 'model.opt.step'],
    ['a symbol', { tag: Symbol('t') }, 'model.tag'],
    ['a class instance', { opt: new Adam() }, 'model.opt'],
    ['a WeakMap', { cache: new WeakMap() }, 'model.cache'],
    ['a WeakSet', [new WeakSet()], 'model[0]'],
    ['a Promise', { pending: Promise.resolve(1) }, 'model.pending'],
    ['a Proxy', { px: new Proxy({}, {}) }, 'model.px'],
    ['a Proxy of an array', { px: new Proxy([1], {}) }, 'model.px'],
    ['a getter', getter, 'model.cfg.lr'],
    ['a getter element', [Object.defineProperty([0], 0, { get: () => 1, enumerable: true })], 'model[0][0]'],
    ['a circular structure', circular, 'model.child.parent'],
    ['a circular array', selfArray, 'model[1].back'],
    ['symbol keys', { meta: { [Symbol('k')]: 1 } }, 'model.meta'],
    ['a function in a Map', { m: new Map([['key', () => 0]]) }, 'model.m.get("key")'],
    ['a function as a Map key', new Map([[() => 0, 1]]), 'model.keys()[0]'],
    ['a function in a Set', new Set([1, () => 0]), 'model.values()[1]'],
    ['a function under a non-identifier key', { 'learning rate': () => 0 }, 'model["learning rate"]'],
    ['a boxed primitive', { n: Object(1) as unknown }, 'model.n'],
  ])('%s', (_what, value, path) => {
    expectNotSerializable(value, path);
  });

  it('the message names the class of an instance', () => {
    const err = thrown(() => encode({ opt: new Adam() }));
    expect((err as Error).message).toContain('Adam');
  });

  it('nesting well within the limit round trips', () => {
    let v: unknown = 'leaf';
    for (let i = 0; i < 500; i++) v = i % 3 === 0 ? [v] : i % 3 === 1 ? { k: v } : new Map([['k', v]]);
    expect(roundTrip(v)).toStrictEqual(v);
  });

  it('too-deep nesting is ARTIFACT_NOT_SERIALIZABLE (not a stack overflow reported as too large)', () => {
    let v: unknown = 1;
    for (let i = 0; i < 10_000; i++) v = [v];
    const err = thrown(() => encode(v));
    expect(isFlowError(err) ? [err.code, String(err.data?.path).slice(0, 12)] : String(err)).toEqual(['ARTIFACT_NOT_SERIALIZABLE', 'model[0][0][']);
  });
});

describe('prototype pollution', () => {
  it.each([
    ['a plain __proto__ key', '{"fra":1,"v":{"__proto__":{"polluted":1}}}', (v: unknown) => v],
    ['an "obj" entry', '{"fra":1,"v":{"$fr":"obj","e":[["__proto__",{"polluted":1}]]}}', (v: unknown) => v],
    ['a null-prototype "obj" entry', '{"fra":1,"v":{"$fr":"obj","np":1,"e":[["__proto__",{"polluted":1}]]}}', (v: unknown) => v],
    ['a __proto__ key inside an array', '{"fra":1,"v":[{"__proto__":{"polluted":1}}]}', (v: unknown) => (v as unknown[])[0]],
    ['a __proto__ key inside a Map value', '{"fra":1,"v":{"$fr":"map","e":[["k",{"__proto__":{"polluted":1}}]]}}', (v: unknown) => (v as Map<string, unknown>).get('k')],
    ['a tagged value under __proto__', '{"fra":1,"v":{"__proto__":{"$fr":"map","e":[["polluted",1]]}}}', (v: unknown) => v],
  ])('%s becomes an own property and never touches Object.prototype', (_what, text, pick) => {
    const decoded = pick(decodeText(text)) as object;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
    expect(Object.hasOwn(decoded, '__proto__')).toBe(true);
    expect((decoded as Record<string, unknown>).polluted).toBeUndefined();
    const proto = Object.getPrototypeOf(decoded);
    expect(proto === Object.prototype || proto === null).toBe(true);
  });

  it('constructor/prototype keys stay data', () => {
    const v = decodeText('{"fra":1,"v":{"constructor":{"prototype":{"polluted":1}},"$fr2":1}}') as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(v.constructor).toStrictEqual({ prototype: { polluted: 1 } });
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
  });

  it('an encoder-produced __proto__ document round trips without pollution', () => {
    const value = JSON.parse('{"__proto__":{"polluted":1},"nested":{"__proto__":{"polluted":2}}}') as Record<string, unknown>;
    const text = encode(value).toString('utf8');
    const back = decodeText(text) as Record<string, Record<string, unknown>>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.hasOwn(back, '__proto__') && Object.hasOwn(back.nested!, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(isDeepStrictEqual(back, value)).toBe(true);
  });
});

describe('malformed documents are StoreErrors', () => {
  const deepArrays = `{"fra":1,"v":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
  const deepSets = `{"fra":1,"v":${'{"$fr":"set","e":['.repeat(20_000)}${']}'.repeat(20_000)}}`;
  const corrupt: [string, string | Uint8Array][] = [
    ['non-JSON bytes', Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x7b])],
    ['random bytes', randomBytes(256)],
    ['empty input', Buffer.alloc(0)],
    ['plain text', 'hello'],
    ['truncated JSON', '{"fra":1,"v":{"a":'],
    ['JSON null', 'null'],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"fra"'],
    ['no version', '{"v":1}'],
    ['no value', '{"fra":1}'],
    ['a string version', '{"fra":"1","v":1}'],
    ['an unknown tag', '{"fra":1,"v":{"$fr":"nope"}}'],
    ['a numeric tag', '{"fra":1,"v":{"$fr":5}}'],
    ['a null tag', '{"fra":1,"v":{"$fr":null}}'],
    ['a bad number', '{"fra":1,"v":{"$fr":"num","v":"1e3"}}'],
    ['a bad BigInt', '{"fra":1,"v":{"$fr":"big","v":"0x10"}}'],
    ['a fractional BigInt', '{"fra":1,"v":{"$fr":"big","v":"1.5"}}'],
    ['a bin kind "Function"', '{"fra":1,"v":{"$fr":"bin","k":"Function","b":""}}'],
    ['a bin kind "constructor"', '{"fra":1,"v":{"$fr":"bin","k":"constructor","b":""}}'],
    ['a bin kind "__proto__"', '{"fra":1,"v":{"$fr":"bin","k":"__proto__","b":""}}'],
    ['a bin without bytes', '{"fra":1,"v":{"$fr":"bin","k":"Buffer"}}'],
    ['a bin with numeric bytes', '{"fra":1,"v":{"$fr":"bin","k":"Buffer","b":123}}'],
    ['a Float64Array of 3 bytes', '{"fra":1,"v":{"$fr":"bin","k":"Float64Array","b":"AAAA"}}'],
    ['a sparse length of 2**40', `{"fra":1,"v":{"$fr":"sparse","n":${2 ** 40},"e":[]}}`],
    ['a negative sparse length', '{"fra":1,"v":{"$fr":"sparse","n":-1,"e":[]}}'],
    ['a fractional sparse length', '{"fra":1,"v":{"$fr":"sparse","n":1.5,"e":[]}}'],
    ['a sparse index out of range', '{"fra":1,"v":{"$fr":"sparse","n":2,"e":[[5,1]]}}'],
    ['a sparse string index', '{"fra":1,"v":{"$fr":"sparse","n":2,"e":[["length",1]]}}'],
    ['a map without entries', '{"fra":1,"v":{"$fr":"map"}}'],
    ['a map with an object for entries', '{"fra":1,"v":{"$fr":"map","e":{"a":1}}}'],
    ['a map entry that is not a pair', '{"fra":1,"v":{"$fr":"map","e":[[1]]}}'],
    ['a set with a string for entries', '{"fra":1,"v":{"$fr":"set","e":"abc"}}'],
    ['an obj with a numeric key', '{"fra":1,"v":{"$fr":"obj","e":[[1,2]]}}'],
    ['a RegExp without a source', '{"fra":1,"v":{"$fr":"re","f":"g"}}'],
    ['a RegExp with an invalid source', '{"fra":1,"v":{"$fr":"re","s":"(","f":""}}'],
    ['a RegExp with invalid flags', '{"fra":1,"v":{"$fr":"re","s":"a","f":"gg"}}'],
    ['arrays nested 100,000 deep', deepArrays],
    ['Sets nested 20,000 deep', deepSets],
  ];

  it.each(corrupt)('%s: STORE_CORRUPT_OBJECT', (_what, input) => {
    const err = thrown(() => decode(typeof input === 'string' ? Buffer.from(input) : input));
    expectStoreError(err, 'STORE_CORRUPT_OBJECT');
  });

  it.each([
    ['{"fra":99,...}', '{"fra":99,"v":{"$fr":"future-tag"}}'],
    ['{"fra":2,...}', '{"fra":2,"v":1}'],
  ])('%s: STORE_VERSION_UNSUPPORTED', (_what, text) => {
    expectStoreError(
      thrown(() => decodeText(text)),
      'STORE_VERSION_UNSUPPORTED',
    );
  });

  it('a decoder error names the object', () => {
    const err = thrown(() => decodeArtifact(Buffer.from('garbage'), { hash: 'abc123', getBlob: new MemBlobs().getBlob }));
    expect((err as Error).message).toContain('abc123');
  });
});

describe('property: random data round trips and re-encodes to identical bytes', () => {
  const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', '$fr', 'constructor', 'toString', 'e', 'v'));
  const leaf = fc.oneof(fc.constant(null), fc.constant(undefined), fc.boolean(), fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 6 }), fc.double(), fc.integer(), fc.bigInt(), fc.date({ noInvalidDate: true }));
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(key, tie('value'), { maxKeys: 5 }),
      fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 }).map((e) => new Map(e)),
      fc.array(tie('value'), { maxLength: 4 }).map((e) => new Set(e)),
    ),
  }));

  it('decode(encode(v)) deep-equals v, and encode(decode(encode(v))) is the same bytes', () => {
    fc.assert(
      fc.property(value, (v) => {
        const blobs = new MemBlobs();
        const bytes = encode(v, blobs);
        const back = decode(bytes, blobs);
        expect(isDeepStrictEqual(back, v)).toBe(true);
        expect(encode(back, blobs).equals(bytes)).toBe(true);
        expect(encode(v, blobs).equals(bytes)).toBe(true);
      }),
      { numRuns: 200 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
