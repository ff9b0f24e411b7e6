import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractGraph } from '../../src/graph/extract.js';
import { validateGraph } from '../../src/graph/validate.js';

describe('extractGraph on the example train flow', () => {
  it('reads steps, types, transitions and params', () => {
    const file = 'test/flows/train.ts';
    const { graph, errors } = extractGraph(file, readFileSync(file, 'utf8'));
    expect(errors).toEqual([]);
    expect(graph!.order).toEqual(['start', 'fit', 'join', 'end']);
    expect(graph!.steps.map((s) => [s.name, s.type])).toEqual([
      ['start', 'foreach'],
      ['fit', 'linear'],
      ['join', 'join'],
      ['end', 'end'],
    ]);
    expect(graph!.params.map((p) => [p.name, p.type, p.default])).toEqual([
      ['alpha', 'number', 0.01],
      ['folds', 'number', 4],
    ]);
    expect(validateGraph(graph!)).toEqual([]);
  });
});
