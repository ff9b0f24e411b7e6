import { describe, expect, it } from 'vitest';
import { applyWith, parseWith } from '../../src/graph/with.js';
import type { FlowGraph } from '../../src/graph/types.js';
import { isFlowError } from '../../src/errors/index.js';

describe('--with NAME[:k=v,...]', () => {
  it('parses numbers, booleans and strings, checked against the decorator spec', () => {
    expect(parseWith('batch')).toEqual({ name: 'batch', options: {} });
    expect(parseWith('batch:queue=gpu-q,cpu=4,memory=16384,image=node:20')).toEqual({ name: 'batch', options: { queue: 'gpu-q', cpu: 4, memory: 16384, image: 'node:20' } });
    expect(parseWith('catchError:var=err,printException=false')).toEqual({ name: 'catchError', options: { var: 'err', printException: false } });
  });

  it('rejects unknown decorators and options with exit 2, suggesting the close name', () => {
    const err = (text: string) => {
      try {
        parseWith(text);
      } catch (e) {
        return e;
      }
      throw new Error('no error');
    };
    const unknown = err('batc');
    expect(isFlowError(unknown) && unknown.exitCode).toBe(2);
    expect((unknown as Error & { fix: string }).fix).toMatch(/Did you mean --with batch\?/);
    expect((err('batch:cpus=2') as Error).message).toMatch(/unknown option 'cpus'/);
    expect((err('batch:memory=lots') as Error).message).toMatch(/'memory' must be a number/);
    expect((err('batch:queue') as Error).message).toMatch(/'queue' is not key=value/);
    expect(isFlowError(err('param'))).toBe(true); // a field decorator is not a step decorator
  });

  it('attaches the decorator to every step; options written on a step win', () => {
    const step = (name: string, decorators: FlowGraph['steps'][number]['decorators']) => ({ name, decorators }) as unknown as FlowGraph['steps'][number];
    const graph = { steps: [step('start', []), step('fit', [{ name: 'batch', options: { memory: 8192 } }])] } as unknown as FlowGraph;
    const out = applyWith(graph, [parseWith('batch:queue=q,memory=1024')]);
    expect(out.steps.map((s) => s.decorators)).toEqual([[{ name: 'batch', options: { queue: 'q', memory: 1024 } }], [{ name: 'batch', options: { queue: 'q', memory: 8192 } }]]);
    expect(graph.steps[0]!.decorators).toEqual([]); // the input graph is not changed
  });
});
