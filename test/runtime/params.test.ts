import { describe, expect, it } from 'vitest';
import type { FlowError } from '../../src/errors/index.js';
import { extractGraph } from '../../src/graph/extract.js';
import { parseParams, resolveParams } from '../../src/runtime/params.js';

// Unit tests of the pure parameter parsing (the CLI tests reach it only through spawned runs).
const { graph } = extractGraph(
  'flows/p.ts',
  `
import { FlowSpec, step, param } from 'flowrun';
export default class P extends FlowSpec {
  @param({ help: 'learning rate' }) alpha = 0.5;
  @param() maxDepth = 3;
  @param() verbose = false;
  @param() name = 'x';
  @param() grid = { a: [1, 2] };
  @param({ required: true, type: 'string' }) dataset!: string;
  @step start() { this.next(this.end); }
  @step end() {}
}`,
);

function refused(argv: string[]): FlowError {
  try {
    parseParams(graph!, argv);
  } catch (e) {
    return e as FlowError;
  }
  throw new Error(`accepted ${argv.join(' ')}`);
}

describe('parseParams', () => {
  it('reads --name value, --name=value and kebab-case names, typed as the defaults are', () => {
    expect(parseParams(graph!, ['--alpha', '0.1', '--max-depth=7', '--verbose', '--dataset', 'iris', '--grid', '{"a":[3]}'])).toEqual({ alpha: 0.1, maxDepth: 7, verbose: true, dataset: 'iris', grid: { a: [3] } });
    expect(parseParams(graph!, ['--verbose', 'no', '--dataset=d', '--name', '--x'])).toEqual({ verbose: false, dataset: 'd', name: '--x' });
  });

  it('takes decimal numbers only (no hex, binary, octal, blanks or infinities)', () => {
    for (const bad of ['0x10', '0b11', '0o7', ' 5 ', '1e999', 'NaN', '']) {
      expect(refused(['--dataset', 'd', '--alpha', bad]).code, bad).toBe('PARAM_TYPE');
    }
    expect(parseParams(graph!, ['--dataset', 'd', '--alpha', '-1.5e-3']).alpha).toBe(-0.0015);
  });

  it('names the parameter, the fix and a close guess in each refusal', () => {
    const unknown = refused(['--alpah', '1', '--dataset', 'd']);
    expect(unknown).toMatchObject({ code: 'PARAM_UNKNOWN', fix: expect.stringContaining('--alpha') });
    expect(refused(['--dataset', 'd', '--alpha', '1', '--alpha', '2'])).toMatchObject({ code: 'PARAM_REPEATED', location: { param: 'alpha' } });
    expect(refused([])).toMatchObject({ code: 'PARAM_REQUIRED', location: { param: 'dataset' }, fix: expect.stringContaining('--dataset') });
    expect(refused(['stray'])).toMatchObject({ code: 'PARAM_UNKNOWN' });
    expect(refused(['--dataset'])).toMatchObject({ code: 'PARAM_TYPE', location: { param: 'dataset' } });
    expect(refused(['--dataset', 'd', '--grid', '{nope'])).toMatchObject({ code: 'PARAM_TYPE', message: expect.stringContaining('JSON') });
    expect(refused(['--dataset', 'd', '--verbose', 'maybe'])).toMatchObject({ code: 'PARAM_TYPE' });
  });
});

describe('resolveParams', () => {
  it('fills defaults for what was not given and keeps given values, including falsy ones', () => {
    expect(resolveParams(graph!, { dataset: 'd', alpha: 0, verbose: false })).toEqual({ alpha: 0, maxDepth: 3, verbose: false, name: 'x', grid: { a: [1, 2] }, dataset: 'd' });
  });
});
