import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeArtifact } from '../../src/serialize/decode.js';
import { encodeArtifact, writeJson } from '../../src/serialize/encode.js';
import type { Tagged } from '../../src/serialize/format.js';
import { LocalStore } from '../../src/store/local.js';
import { sha256 } from '../../src/util/hash.js';
import { tempDir } from '../helpers/cli.js';

// Encoding and decoding run on built-ins captured at start-up: what a step patches cannot change
// the bytes flowrun stores or the values it loads (the same value gives the same hash).

// One error for both encodings: its stack names the line that created it.
const ERR = new TypeError('bad');
void ERR.stack; // formatted now, by the test runner's own stack formatter

const value = () => ({
  list: [1, -0, NaN, 2.5, 'x', null, undefined, true],
  nested: { when: new Date(0), big: 12n, re: /a+/gi, err: ERR },
  table: new Map<unknown, unknown>([
    ['a', [1]],
    [2, new Set(['s', 3])],
  ]),
  bytes: Buffer.from('some bytes'),
  floats: new Float64Array([1.5, 2.5]),
  sparse: [1, , 3], // eslint-disable-line no-sparse-arrays
  proto: Object.assign(Object.create(null) as object, { k: 1 }),
  weird: { $fr: 'not a tag', __proto__x: 1 },
});

/** Replaces built-ins as a careless (or hostile) step might; returns a function putting them back. */
function patchBuiltins(): () => void {
  const saved: Array<[object, PropertyKey, PropertyDescriptor | undefined]> = [];
  const set = (obj: object, key: PropertyKey, v: unknown) => {
    saved[saved.length] = [obj, key, Object.getOwnPropertyDescriptor(obj, key)]; // push itself gets patched
    Object.defineProperty(obj, key, { value: v, configurable: true, writable: true, enumerable: false });
  };
  set(JSON, 'stringify', () => '"patched"');
  set(JSON, 'parse', () => ({ patched: true }));
  set(Buffer.prototype, 'toString', () => 'patched');
  set(Buffer, 'from', () => Buffer.alloc(1));
  set(Object.prototype, 'toJSON', () => 'patched');
  set(Object, 'keys', () => ['patched']);
  set(Array.prototype, 'map', () => ['patched']);
  set(Array.prototype, 'push', () => 0);
  set(Array.prototype, Symbol.iterator, function* () {
    yield 'patched';
  });
  set(Map.prototype, Symbol.iterator, function* () {
    yield ['patched', 1];
  });
  set(Map.prototype, 'entries', function* () {
    yield ['patched', 1];
  });
  set(Map.prototype, 'set', () => undefined);
  set(Set.prototype, 'add', () => undefined);
  set(Set.prototype, 'has', () => true);
  set(RegExp.prototype, 'exec', () => null);
  set(Uint8Array.prototype, 'subarray', () => Buffer.from('patched'));
  // Not Function.prototype.call: Node's own zlib and error formatting rely on it, as user code does.
  set(globalThis, 'Map', class {});
  set(globalThis, 'Date', class {});
  const hashProto = Object.getPrototypeOf(createHash('sha256')) as object;
  set(hashProto, 'digest', () => 'patched');
  // Index loop, last patch first: iteration itself is patched until Array.prototype[Symbol.iterator] is back.
  return () => {
    for (let i = saved.length - 1; i >= 0; i--) {
      const entry = saved[i]!;
      const obj = entry[0];
      const key = entry[1];
      const d = entry[2];
      if (d) Object.defineProperty(obj, key, d);
      else delete (obj as Record<PropertyKey, unknown>)[key];
    }
  };
}

describe('encoding on captured built-ins', () => {
  it('writeJson writes what JSON.stringify writes for every tree the encoder builds', () => {
    const tree: fc.Arbitrary<Tagged> = fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Tagged>;
    fc.assert(
      fc.property(tree, (t) => writeJson(t) === JSON.stringify(t)),
      { numRuns: 500 },
    );
  });

  it('a patched realm changes neither the bytes stored, the hash, nor the value loaded (store included)', () => {
    const blobs = new Map<string, Buffer>();
    const ctx = {
      step: 's',
      artifact: 'a',
      putBlob: (b: Uint8Array) => {
        const h = sha256(b);
        blobs.set(h, Buffer.from(b));
        return h;
      },
    };
    const expected = encodeArtifact(value(), ctx);
    const expectedHash = sha256(expected);
    const store = LocalStore.open(tempDir());
    const ref = store.putObjectSync(expected, { compress: true });
    const input = value();
    const restore = patchBuiltins();
    let bytes: Buffer;
    let hash: string;
    let loaded: unknown;
    let fromStore: Buffer;
    try {
      bytes = encodeArtifact(input, ctx);
      hash = sha256(bytes);
      loaded = decodeArtifact(bytes, { getBlob: (h) => blobs.get(h)! });
      fromStore = store.getObjectSync(ref);
    } finally {
      restore();
    }
    expect(Buffer.compare(bytes, expected)).toBe(0);
    expect(hash).toBe(expectedHash);
    expect(Buffer.compare(fromStore, expected)).toBe(0);
    const plain = decodeArtifact(expected, { getBlob: (h) => blobs.get(h)! });
    expect(loaded).toStrictEqual(plain);
    expect(loaded).toBeInstanceOf(Object);
    expect((loaded as { table: unknown }).table).toBeInstanceOf(Map);
  });
});
