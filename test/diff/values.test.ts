import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareShapes, compareValues, shapeOf, summarize } from '../../src/diff/values.js';

// The value comparison behind `flow diff`'s old → new (test/repro/diff-why.test.ts checks a few
// cases through the CLI); here its rules one by one, and the laws that hold for any value.

describe('compareValues', () => {
  it('Maps are compared key by key, objects field by field, nested five levels deep', () => {
    expect(
      compareValues(
        new Map([
          ['a', 1],
          ['b', 2],
        ]),
        new Map([
          ['a', 1],
          ['b', 3],
        ]),
      ).fields,
    ).toEqual([{ path: '.get("b")', from: '2', to: '3' }]);
    const deep = (v: number) => ({ a: { b: { c: { d: { e: { f: v } } } } } });
    // Below the fifth level the rest of the object is summarized.
    expect(compareValues(deep(1), deep(2)).fields).toEqual([{ path: '.a.b.c.d.e', from: '{ f: 1 }', to: '{ f: 2 }' }]);
    expect(compareValues({ 'odd key': 1 }, { 'odd key': 2 }).fields).toEqual([{ path: '["odd key"]', from: '1', to: '2' }]);
  });

  it('an array whose length changed says so first; values of other kinds are shown whole', () => {
    const r = compareValues([{ a: 1 }, { a: 2 }], [{ a: 1 }, { a: 3 }, { a: 4 }]);
    expect(r.detail).toBe('array[2] of object{a} → array[3] of object{a}: [1].a: 2 → 3, [2]: (none) → { a: 4 }');
    expect(compareValues({ a: 1 }, [1]).detail).toBe('{ a: 1 } → [ 1 ]');
    expect(compareValues('x', 2).detail).toBe('"x" → 2');
    expect(compareValues(new Date(0), new Date(1)).detail).toBe('1970-01-01T00:00:00.000Z → 1970-01-01T00:00:00.001Z');
  });

  it('equal containers list no fields (the detail shows both sides whole)', () => {
    expect(compareValues({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual({ detail: '{ a: [ 1, [Object] ] } → { a: [ 1, [Object] ] }' });
  });

  it("law: swapping the values swaps every field's from and to, same paths", () => {
    const value = fc.letrec((tie) => ({
      leaf: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('a', 'b'), fc.boolean()),
      node: fc.oneof({ depthSize: 'small' }, tie('leaf'), fc.dictionary(fc.constantFrom('p', 'q', 'r'), tie('node'), { maxKeys: 3 }), fc.array(tie('node'), { maxLength: 3 })),
    })).node;
    fc.assert(
      fc.property(value, value, (a, b) => {
        const ab = compareValues(a, b).fields ?? [];
        const ba = compareValues(b, a).fields ?? [];
        const key = (f: { path: string; from?: string; to?: string }) => `${f.path} ${f.from} ${f.to}`;
        expect(ba.map((f) => key({ path: f.path, from: f.to, to: f.from })).sort()).toEqual(ab.map(key).sort());
        for (const f of ab) expect(f.from).not.toBe(f.to);
      }),
    );
  });
});

describe('summarize and shapeOf', () => {
  it('short values as they are, long ones by size or shape', () => {
    expect(summarize('a'.repeat(60))).toBe(JSON.stringify('a'.repeat(60)));
    expect(summarize('a'.repeat(61))).toBe('string(61)');
    expect(summarize([1, 2, 3, 4, 5, 6, 7])).toBe('array[7]');
    expect(summarize({ a: 1, b: 2, c: 3, d: 4, e: 5 })).toBe('object{5 keys}');
    expect(summarize(new Set([1]))).toBe('Set(1)');
    expect(summarize(new Uint8Array(3))).toBe('Uint8Array(3 B)');
    expect(summarize(null)).toBe('null');
    expect(shapeOf(Buffer.alloc(4))).toBe('Buffer(4 B)');
    expect(shapeOf([[1]])).toBe('array[1] of array[1] of number');
    expect(shapeOf({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 })).toBe('object{a, b, c, d, e, … 6 keys}');
    expect(compareShapes([1], [1, 2], { from: 1, to: 2 })).toBe('array[1] of number → array[2] of number');
  });
});
