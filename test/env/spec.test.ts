import { describe, expect, it } from 'vitest';
import { lockedPackages } from '../../src/env/npm.js';
import { condaSpecOf, npmPackageNames, npmSpecOf } from '../../src/env/prepare.js';
import { condaConstraint, matchSpecs } from '../../src/env/conda.js';
import { GRAPH_SCHEMA, type FlowGraph, type StepNode } from '../../src/graph/types.js';
import { packageName } from '../../src/task/env-hooks.js';

function stepNode(name: string, decorators: StepNode['decorators'] = []): StepNode {
  return { name, line: 1, async: false, takesInputs: false, transitions: [], next: [], type: 'linear', decorators, assigns: [], in: [] };
}

const graph: FlowGraph = {
  schema: GRAPH_SCHEMA,
  file: 'f.ts',
  flow: 'F',
  line: 1,
  params: [],
  order: ['start', 'fit', 'end'],
  decorators: [{ name: 'npmBase', options: { packages: { lodash: '^4.17.0', zod: '^3.0.0' }, node: '>=20' } }],
  steps: [stepNode('start'), stepNode('fit', [{ name: 'npm', options: { packages: { zod: '3.22.0', 'left-pad': '1.3.0' } } }]), stepNode('end')],
};

describe('@npm specs', () => {
  it('a step inherits @npmBase, and its own @npm overrides it package by package', () => {
    expect(npmSpecOf(graph, 'start')).toEqual({ packages: { lodash: '^4.17.0', zod: '^3.0.0' }, node: '>=20' });
    expect(npmSpecOf(graph, 'fit')).toEqual({ packages: { 'left-pad': '1.3.0', lodash: '^4.17.0', zod: '3.22.0' }, node: '>=20' });
    expect(Object.keys(npmSpecOf(graph, 'fit')!.packages)).toEqual(['left-pad', 'lodash', 'zod']);
    expect(npmSpecOf({ ...graph, decorators: [] }, 'end')).toBeUndefined();
    expect([...npmPackageNames(graph)].sort()).toEqual(['left-pad', 'lodash', 'zod']);
  });

  it('@condaBase and @conda merge the same way; the spec becomes solver match specs', () => {
    const g: FlowGraph = { ...graph, decorators: [{ name: 'condaBase', options: { packages: { numpy: '>=1.26' }, python: '3.11.*', channels: ['https://c.example/x'] } }], steps: [stepNode('start', [{ name: 'conda', options: { packages: { hello: '1.*', numpy: '*' } } }]), stepNode('end')] };
    const spec = condaSpecOf(g, 'start')!;
    expect(spec).toEqual({ packages: { hello: '1.*', numpy: '*' }, python: '3.11.*', channels: ['https://c.example/x'] });
    expect(matchSpecs(spec)).toEqual(['hello 1.*', 'numpy', 'python 3.11.*']);
    expect(condaSpecOf(g, 'end')).toEqual({ packages: { numpy: '>=1.26' }, python: '3.11.*', channels: ['https://c.example/x'] });
  });

  it("reads a @conda value as conda reads name=value: '3.11' is 3.11.*, '==3.11' exact, operators and build strings kept", () => {
    expect(condaConstraint('3.11')).toBe('3.11.*');
    expect(condaConstraint('1.26.4')).toBe('1.26.4.*');
    expect(condaConstraint('=3.11')).toBe('3.11.*');
    expect(condaConstraint('==3.11')).toBe('==3.11');
    expect(condaConstraint('3.11.*')).toBe('3.11.*');
    expect(condaConstraint('3.11*')).toBe('3.11*');
    expect(condaConstraint('>=1.26,<2')).toBe('>=1.26,<2');
    expect(condaConstraint('!=1.0')).toBe('!=1.0');
    expect(condaConstraint('1.26.* py311*')).toBe('1.26.* py311*');
    expect(condaConstraint('1.26.4 py311h64a7726_0')).toBe('==1.26.4 py311h64a7726_0');
    expect(condaConstraint('1.26.4=py311h64a7726_0')).toBe('==1.26.4 py311h64a7726_0');
    expect(condaConstraint('')).toBeUndefined();
    expect(condaConstraint(' * ')).toBeUndefined();
    expect(matchSpecs({ packages: { numpy: '1.26', pandas: '' }, python: '3.11' })).toEqual(['numpy 1.26.*', 'pandas', 'python 3.11.*']);
  });

  it("lists a lock's packages, nested ones by install path, skipping the root and links", () => {
    const lock = Buffer.from(
      JSON.stringify({
        lockfileVersion: 3,
        packages: {
          '': { name: 'flowrun-env', dependencies: { a: '^1' } },
          'node_modules/a': { version: '1.2.0' },
          'node_modules/a/node_modules/@s/b': { version: '0.1.0' },
          'node_modules/linked': { link: true },
        },
      }),
    );
    expect(lockedPackages(lock)).toEqual([
      { path: 'node_modules/a', name: 'a', version: '1.2.0' },
      { path: 'node_modules/a/node_modules/@s/b', name: '@s/b', version: '0.1.0' },
    ]);
  });

  it('maps bare specifiers to their package name and leaves paths and URLs alone', () => {
    expect(packageName('lodash/fp')).toBe('lodash');
    expect(packageName('@scope/pkg/sub/x.js')).toBe('@scope/pkg');
    expect(packageName('./local.js')).toBe('');
    expect(packageName('/abs/x.js')).toBe('');
    expect(packageName('node:fs')).toBe('');
    expect(packageName('file:///x.mjs')).toBe('');
  });
});
