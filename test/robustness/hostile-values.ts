/**
 * A generator of hostile artifact values (issue #9 part 3). Each base value says what must
 * happen: it round-trips, or it is refused with a code at a sub-path (relative to where the
 * value sits). Every base value is also tried inside an object, an array, a Map and a Set, so
 * the reported path is checked at several depths.
 */
export interface Hostile {
  name: string;
  make: () => unknown;
  /** Undefined: must round-trip exactly. Else the error code and the path suffix it names. */
  refuse?: { code: 'ARTIFACT_NOT_SERIALIZABLE' | 'ARTIFACT_TOO_LARGE'; at: string };
  /** Too big or too deep to repeat inside every wrapper (keeps CI memory and time sane). */
  bareOnly?: true;
}

let sideEffects = 0;
export const sideEffectCount = () => sideEffects;

class Point {
  constructor(
    public x = 1,
    public y = 2,
  ) {}
}
class Secretive {
  #hidden = 1;
  get hidden() {
    return this.#hidden;
  }
}

function deep(n: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < n; i++) v = [v];
  return v;
}

function deepPath(levels: number): string {
  return '[0]'.repeat(levels);
}

const refuse = (at = '', code: 'ARTIFACT_NOT_SERIALIZABLE' | 'ARTIFACT_TOO_LARGE' = 'ARTIFACT_NOT_SERIALIZABLE') => ({ code, at });

export function baseValues(long: boolean): Hostile[] {
  const shared = new ArrayBuffer(64);
  new Uint8Array(shared).forEach((_, i, a) => {
    a[i] = i;
  });
  const sab = new SharedArrayBuffer(16);
  new Uint8Array(sab).fill(9);
  const list: Hostile[] = [
    // Prototype pollution keys, as own properties (JSON.parse makes __proto__ an own key).
    { name: '__proto__ own key', make: () => JSON.parse('{"__proto__":{"polluted":true}}') },
    { name: 'nested __proto__', make: () => JSON.parse('{"a":{"__proto__":{"polluted":true}},"b":[{"__proto__":1}]}') },
    { name: 'constructor key', make: () => ({ constructor: { prototype: { polluted: true } } }) },
    { name: 'prototype key', make: () => ({ prototype: { polluted: true } }) },
    { name: '$fr key (the format tag)', make: () => ({ $fr: 'map', e: [] }) },
    { name: 'null-prototype object', make: () => Object.assign(Object.create(null) as object, { a: 1, __proto__x: 2 }) },
    {
      name: 'null-prototype with __proto__',
      make: () => {
        const o = Object.create(null) as Record<string, unknown>;
        o.__proto__ = { polluted: true };
        return o;
      },
    },
    {
      name: 'Map with __proto__ key',
      make: () =>
        new Map<unknown, unknown>([
          ['__proto__', { polluted: true }],
          ['constructor', 1],
        ]),
    },
    // Code inside values.
    {
      name: 'getter with a side effect',
      make: () => ({
        get g() {
          sideEffects++;
          return 1;
        },
      }),
      refuse: refuse('.g'),
    },
    {
      name: 'setter only',
      make: () => ({
        set s(_v: number) {
          sideEffects++;
        },
      }),
      refuse: refuse('.s'),
    },
    {
      name: 'array element getter',
      make: () => {
        const a = [1, 2];
        Object.defineProperty(a, 1, {
          get() {
            sideEffects++;
            return 2;
          },
          enumerable: true,
        });
        return a;
      },
      refuse: refuse('[1]'),
    },
    {
      name: 'toJSON method',
      make: () => ({
        toJSON() {
          sideEffects++;
          return 'x';
        },
      }),
      refuse: refuse('.toJSON'),
    },
    { name: 'function', make: () => () => 1, refuse: refuse() },
    { name: 'class (constructor)', make: () => Point, refuse: refuse() },
    { name: 'async function', make: () => async () => 1, refuse: refuse() },
    {
      name: 'Proxy of an object',
      make: () =>
        new Proxy(
          { a: 1 },
          {
            get() {
              sideEffects++;
              return 1;
            },
            ownKeys() {
              sideEffects++;
              return [];
            },
          },
        ),
      refuse: refuse(),
    },
    {
      name: 'Proxy of an array',
      make: () =>
        new Proxy([1, 2], {
          get() {
            sideEffects++;
            return 1;
          },
        }),
      refuse: refuse(),
    },
    {
      name: 'revoked Proxy',
      make: () => {
        const p = Proxy.revocable({}, {});
        p.revoke();
        return p.proxy;
      },
      refuse: refuse(),
    },
    { name: 'Symbol', make: () => Symbol('s'), refuse: refuse() },
    { name: 'symbol key', make: () => ({ [Symbol('k')]: 1 }), refuse: refuse() },
    { name: 'class instance', make: () => new Point(), refuse: refuse() },
    { name: 'class with private state', make: () => new Secretive(), refuse: refuse() },
    { name: 'Promise', make: () => Promise.resolve(1), refuse: refuse() },
    { name: 'WeakMap', make: () => new WeakMap(), refuse: refuse() },
    { name: 'WeakSet', make: () => new WeakSet(), refuse: refuse() },
    { name: 'boxed number', make: () => Object(1) as object, refuse: refuse() },
    { name: 'boxed string', make: () => Object('s') as object, refuse: refuse() },
    { name: 'regexp match (array with named props)', make: () => /a(b)/.exec('ab'), refuse: refuse('.index') },
    { name: 'Map subclass', make: () => new (class M extends Map {})(), refuse: refuse() },
    // Structure.
    {
      name: 'circular object',
      make: () => {
        const o: Record<string, unknown> = { a: 1 };
        o.self = o;
        return o;
      },
      refuse: refuse('.self'),
    },
    {
      name: 'circular array',
      make: () => {
        const a: unknown[] = [1];
        a.push(a);
        return a;
      },
      refuse: refuse('[1]'),
    },
    {
      name: 'circular through a Map',
      make: () => {
        const m = new Map<string, unknown>();
        m.set('m', m);
        return m;
      },
      refuse: refuse('.get("m")'),
    },
    {
      name: 'shared (non-circular) reference',
      make: () => {
        const s = { x: 1 };
        return { a: s, b: s };
      },
    },
    { name: 'depth 999 (under the limit)', make: () => deep(998), bareOnly: true },
    { name: 'depth 10,000', make: () => deep(10_000), refuse: refuse(deepPath(1001)), bareOnly: true },
    {
      name: 'sparse array, huge length',
      make: () => {
        const a: unknown[] = [];
        a[2 ** 32 - 2] = 'last';
        a[0] = 'first';
        return a;
      },
      bareOnly: true,
    },
    { name: 'sparse array with holes', make: () => [1, , 3] },
    { name: 'array of undefined', make: () => [undefined, undefined] },
    { name: 'empty containers', make: () => ({ a: [], o: {}, m: new Map(), s: new Set() }) },
    // Numbers.
    { name: '-0', make: () => -0 },
    { name: 'NaN', make: () => NaN },
    { name: 'Infinity', make: () => Infinity },
    { name: '-Infinity', make: () => -Infinity },
    { name: 'MAX_VALUE, MIN_VALUE, EPSILON', make: () => [Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON, -Number.MAX_SAFE_INTEGER] },
    { name: 'BigInt 2^4096', make: () => 2n ** 4096n },
    { name: 'BigInt -(2^4096)', make: () => -(2n ** 4096n) },
    { name: 'BigInt 0 and -1', make: () => [0n, -1n] },
    { name: 'BigInt64 extremes', make: () => new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
    { name: 'BigUint64 max', make: () => new BigUint64Array([2n ** 64n - 1n]) },
    // Binary.
    { name: 'Uint8Array view in the middle of a shared buffer', make: () => new Uint8Array(shared, 8, 16) },
    { name: 'two views over one buffer', make: () => ({ a: new Uint8Array(shared, 0, 8), b: new Int16Array(shared, 8, 4) }) },
    { name: 'DataView over part of a buffer', make: () => new DataView(shared, 4, 12) },
    { name: 'Float64Array with NaN and -0', make: () => new Float64Array([NaN, -0, Infinity]) },
    { name: 'view over a SharedArrayBuffer', make: () => new Uint8Array(sab, 4, 8) },
    { name: 'SharedArrayBuffer', make: () => sab },
    { name: 'Buffer', make: () => Buffer.from('hello') },
    { name: 'empty ArrayBuffer', make: () => new ArrayBuffer(0) },
    { name: 'Uint8ClampedArray', make: () => new Uint8ClampedArray([0, 255]) },
    { name: '2 MiB Uint8Array (a blob object)', make: () => new Uint8Array(2 << 20).fill(3), bareOnly: true },
    // Dates, regexps, errors, strings.
    { name: 'invalid Date', make: () => new Date(NaN) },
    { name: 'Date at the max time', make: () => new Date(8.64e15) },
    { name: 'RegExp with flags', make: () => /a+b/gimsuy },
    {
      name: 'TypeError',
      make: () => {
        const e = new TypeError('bad');
        e.stack = 'TypeError: bad';
        return e;
      },
    },
    { name: 'lone surrogates', make: () => '\ud800x\udfff' },
    { name: 'NUL and control characters', make: () => '\u0000\u0001\u001f\u2028\u2029' },
    { name: 'string that looks like code', make: () => "require('child_process').execSync('touch /tmp/flowrun-pwned')" },
    { name: 'string that looks like a tagged value', make: () => '{"$fr":"big","v":"1"}' },
    { name: '1 MiB string', make: () => 'x'.repeat(1 << 20), bareOnly: true },
    { name: '64 MiB string', make: () => 'y'.repeat(64 << 20), bareOnly: true },
  ];
  if (long) {
    // A 512 MiB string cannot exist in V8: its longest string is 2^29 - 24 characters, just under.
    list.push({ name: '512 MiB string (V8 maximum, 2^29 - 24 chars)', make: () => 'z'.repeat(2 ** 29 - 24), refuse: refuse('', 'ARTIFACT_TOO_LARGE'), bareOnly: true });
    list.push({ name: '256 MiB string', make: () => 'w'.repeat(256 << 20), bareOnly: true });
  }
  return list;
}

/** Where a value sits inside the artifact, and the path prefix an error must name. */
export const WRAPPERS: Array<{ name: string; wrap: (v: unknown) => unknown; path: string }> = [
  { name: 'bare', wrap: (v) => v, path: 'v' },
  { name: 'in an object', wrap: (v) => ({ field: v }), path: 'v.field' },
  { name: 'in an array', wrap: (v) => [0, v], path: 'v[1]' },
  { name: 'in a Map', wrap: (v) => new Map([['k', v]]), path: 'v.get("k")' },
  { name: 'in a Set', wrap: (v) => new Set([v]), path: 'v.values()[0]' },
];
