import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isFlowError } from '../../src/errors/index.js';
import { LocalStore } from '../../src/store/local.js';
import { loadArtifact, saveArtifact } from '../../src/task/artifacts.js';
import { tempDir } from '../helpers/cli.js';
import { LONG, printFigures } from './figures.js';
import { WRAPPERS, baseValues, sideEffectCount } from './hostile-values.js';

// Part 3 of the robustness suite (issue #9): every hostile value either round-trips exactly
// (and re-saving the loaded value gives the same hash) or is refused with a coded error that
// names its path; saving and loading never run code from the value or the store, and never
// pollute a prototype.

/** Strict structural equality: prototypes, -0, NaN, holes, invalid dates, key order, binary kinds. */
function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (a instanceof RegExp) return a.source === (b as RegExp).source && a.flags === (b as RegExp).flags;
  if (a instanceof Error) return a.name === (b as Error).name && a.message === (b as Error).message;
  if (a instanceof ArrayBuffer || a instanceof SharedArrayBuffer) return Buffer.from(a).equals(Buffer.from(b as ArrayBuffer));
  if (ArrayBuffer.isView(a)) {
    const x = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const y = Buffer.from((b as ArrayBufferView).buffer, (b as ArrayBufferView).byteOffset, (b as ArrayBufferView).byteLength);
    return x.equals(y);
  }
  if (a instanceof Map || a instanceof Set) {
    const x = [...(a as Map<unknown, unknown>).entries()];
    const y = [...(b as Map<unknown, unknown>).entries()];
    return x.length === y.length && x.every(([k, v], i) => same(k, y[i]![0]) && same(v, y[i]![1]));
  }
  if (Array.isArray(a) && a.length !== (b as unknown[]).length) return false;
  const ka = Reflect.ownKeys(a).filter((k) => !(Array.isArray(a) && k === 'length'));
  const kb = Reflect.ownKeys(b).filter((k) => !(Array.isArray(b) && k === 'length'));
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => same(Object.getOwnPropertyDescriptor(a, k)!.value, Object.getOwnPropertyDescriptor(b, k)!.value));
}

const protoKeys = () => [Object.prototype, Array.prototype, Function.prototype, Map.prototype].map((p) => Reflect.ownKeys(p).length);

describe('hostile artifact values', () => {
  it('each round-trips exactly or is refused naming its path; nothing runs, nothing is polluted', () => {
    const store = LocalStore.open(tempDir());
    const before = protoKeys();
    const failures: string[] = [];
    let tried = 0;
    let roundTripped = 0;
    let refused = 0;
    for (const base of baseValues(LONG)) {
      for (const w of base.bareOnly ? WRAPPERS.slice(0, 1) : WRAPPERS) {
        const label = `${base.name} (${w.name})`;
        tried++;
        let value: unknown = w.wrap(base.make());
        try {
          const ref = saveArtifact(store, value, 'start', 'v');
          const loaded = loadArtifact(store, ref);
          if (base.refuse) {
            failures.push(`${label}: stored, expected ${base.refuse.code}`);
            continue;
          }
          if (!same(loaded, value)) {
            failures.push(`${label}: loaded value differs`);
            continue;
          }
          if (saveArtifact(store, loaded, 'start', 'v').hash !== ref.hash) {
            failures.push(`${label}: re-save changed the hash`);
            continue;
          }
          roundTripped++;
        } catch (e) {
          const path = `${w.path}${base.refuse?.at ?? ''}`;
          if (!base.refuse || !isFlowError(e) || e.code !== base.refuse.code) {
            failures.push(`${label}: ${isFlowError(e) ? e.code : 'crash'}: ${(e as Error).message?.slice(0, 200)}`);
            continue;
          }
          if (base.refuse.code === 'ARTIFACT_NOT_SERIALIZABLE' && (e.data as { path?: string } | undefined)?.path !== path) {
            failures.push(`${label}: named ${(e.data as { path?: string }).path?.slice(0, 80)}, expected ${path.slice(0, 80)}`);
            continue;
          }
          if (!e.message.includes(path.slice(0, 200)) || e.location.artifact !== 'v' || e.location.step !== 'start') {
            failures.push(`${label}: message does not name ${path.slice(0, 80)}`);
            continue;
          }
          refused++;
        } finally {
          value = undefined;
        }
      }
    }
    const polluted = ({} as Record<string, unknown>).polluted !== undefined || protoKeys().some((n, i) => n !== before[i]);
    printFigures('hostile artifact values (save, load, re-save)', [
      ['values tried', tried],
      ['round-tripped exactly (same hash on re-save)', roundTripped],
      ['refused with a code naming the path', refused],
      ['crashes or wrong results', failures.length],
      ['code run from a value (getters, traps, toJSON)', sideEffectCount()],
      ['prototype pollution', polluted ? 'yes' : 'none'],
    ]);
    expect(failures).toEqual([]);
    expect(tried).toBeGreaterThanOrEqual(200);
    expect(sideEffectCount()).toBe(0);
    expect(polluted).toBe(false);
    expect(existsSync('/tmp/flowrun-pwned')).toBe(false);
  }, 120_000);
});

/** Hand-written artifact documents, stored with a valid hash, that try to smuggle code or pollution through the decoder. */
const MALICIOUS: Array<{ name: string; doc: string; code?: string }> = [
  { name: '__proto__ key in a plain object', doc: '{"fra":1,"v":{"__proto__":{"polluted":true}}}' },
  { name: '__proto__ deep inside arrays', doc: '{"fra":1,"v":[[{"__proto__":{"polluted":true}}]]}' },
  { name: '__proto__ via an obj entry list', doc: '{"fra":1,"v":{"$fr":"obj","e":[["__proto__",{"polluted":true}]]}}' },
  { name: 'constructor.prototype chain', doc: '{"fra":1,"v":{"constructor":{"prototype":{"polluted":true}}}}' },
  { name: 'Map entry with __proto__ key', doc: '{"fra":1,"v":{"$fr":"map","e":[["__proto__",{"polluted":true}]]}}' },
  { name: 'unknown tag (function)', doc: '{"fra":1,"v":{"$fr":"fn","src":"() => { globalThis.pwned = 1 }"}}', code: 'STORE_CORRUPT_OBJECT' },
  { name: 'error class name constructor', doc: '{"fra":1,"v":{"$fr":"err","n":"constructor","m":"x","s":null}}' },
  { name: 'error class name Function', doc: '{"fra":1,"v":{"$fr":"err","n":"Function","m":"globalThis.pwned=1","s":null}}' },
  { name: 'binary kind constructor', doc: '{"fra":1,"v":{"$fr":"bin","k":"constructor","b":""}}' },
  { name: 'binary kind __proto__', doc: '{"fra":1,"v":{"$fr":"bin","k":"__proto__","b":""}}' },
  { name: 'blob hash with path traversal', doc: '{"fra":1,"v":{"$fr":"bin","k":"Buffer","h":"../../../../etc/passwd","n":1}}', code: 'STORE_CORRUPT_OBJECT' },
  { name: 'blob hash that is not stored', doc: `{"fra":1,"v":{"$fr":"bin","k":"Buffer","h":"${'0'.repeat(64)}","n":1}}` },
  { name: 'typed array of a bad byte length', doc: '{"fra":1,"v":{"$fr":"bin","k":"Float64Array","b":"AAAA"}}' },
  { name: 'BigInt with code', doc: '{"fra":1,"v":{"$fr":"big","v":"1; globalThis.pwned=1"}}' },
  { name: 'number tag with code', doc: '{"fra":1,"v":{"$fr":"num","v":"globalThis.pwned=1"}}' },
  { name: 'date with an object', doc: '{"fra":1,"v":{"$fr":"date","v":{"valueOf":"x"}}}', code: 'STORE_CORRUPT_OBJECT' },
  { name: 'regexp with bad flags', doc: '{"fra":1,"v":{"$fr":"re","s":"a","f":"zz"}}' },
  { name: 'sparse length over 2^32', doc: '{"fra":1,"v":{"$fr":"sparse","n":1e300,"e":[]}}' },
  { name: 'sparse index out of range', doc: '{"fra":1,"v":{"$fr":"sparse","n":2,"e":[[5,1]]}}' },
  { name: 'map entries not a list', doc: '{"fra":1,"v":{"$fr":"map","e":{"length":1e9}}}' },
  { name: 'set entries not a list', doc: '{"fra":1,"v":{"$fr":"set","e":"abc"}}' },
  { name: 'obj key not a string', doc: '{"fra":1,"v":{"$fr":"obj","e":[[1,2]]}}' },
  { name: 'tag value not a string', doc: '{"fra":1,"v":{"$fr":{"toString":1}}}', code: 'STORE_CORRUPT_OBJECT' },
  { name: 'nested 100,000 deep', doc: `{"fra":1,"v":${'['.repeat(100_000)}${']'.repeat(100_000)}}` },
  { name: 'format tag as a string', doc: '{"fra":"1","v":1}' },
  { name: 'no format tag', doc: '{"v":1}' },
  { name: 'format from the future', doc: '{"fra":99,"v":1}' },
  { name: 'not JSON (JS source)', doc: 'module.exports = (globalThis.pwned = 1)' },
  { name: 'top-level array', doc: '[1,2,3]' },
  { name: 'invalid UTF-8', doc: '\u00ff\u00fe' },
];

const DATA_PROTOTYPES = new Set<object | null>([
  Object.prototype,
  null,
  Array.prototype,
  Map.prototype,
  Set.prototype,
  Date.prototype,
  RegExp.prototype,
  Buffer.prototype,
  ArrayBuffer.prototype,
  Error.prototype,
  TypeError.prototype,
  RangeError.prototype,
  SyntaxError.prototype,
  ReferenceError.prototype,
  EvalError.prototype,
  URIError.prototype,
]);

describe('malicious stored artifact bytes', () => {
  it('decode to plain data or fail with a store code; never run code or pollute a prototype', () => {
    const store = LocalStore.open(tempDir());
    const before = protoKeys();
    const results: string[] = [];
    let safe = 0;
    for (const m of MALICIOUS) {
      const bytes = m.name === 'invalid UTF-8' ? Buffer.from([0xff, 0xfe, 0x80]) : Buffer.from(m.doc);
      const hash = store.putObjectSync(bytes);
      try {
        const v = loadArtifact(store, { hash, size: bytes.length });
        if (m.code) {
          results.push(`${m.name}: decoded, expected ${m.code}`);
          continue;
        }
        // Decoded data: any __proto__ is an own key, never the prototype; only data types come back.
        if (typeof v === 'object' && v !== null && !DATA_PROTOTYPES.has(Object.getPrototypeOf(v) as object)) results.push(`${m.name}: prototype changed`);
        else if (typeof v === 'function') results.push(`${m.name}: decoded to a function`);
        else safe++;
      } catch (e) {
        if (isFlowError(e) && e.exitCode === 3 && e.code.startsWith('STORE_') && (!m.code || e.code === m.code)) safe++;
        else results.push(`${m.name}: ${isFlowError(e) ? e.code : 'crash'}: ${(e as Error).message?.slice(0, 160)}`);
      }
    }
    const pwned = (globalThis as { pwned?: unknown }).pwned !== undefined;
    const polluted = ({} as Record<string, unknown>).polluted !== undefined || protoKeys().some((n, i) => n !== before[i]);
    printFigures('malicious stored artifact bytes', [
      ['documents tried', MALICIOUS.length],
      ['plain data or a store error (exit 3)', safe],
      ['crashes', results.length],
      ['code executed', pwned ? 'yes' : 'none'],
      ['prototype pollution', polluted ? 'yes' : 'none'],
    ]);
    expect(results).toEqual([]);
    expect(pwned).toBe(false);
    expect(polluted).toBe(false);
  });
});
