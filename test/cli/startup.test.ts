import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { copyFlow, flow, REPO, tempProject } from '../helpers/cli.js';
import { flowModules, packagesOf } from '../helpers/loaded-modules.js';

// What keeps the CLI fast (issue #18), checked on the modules a command actually loads, not on
// timings: oclif comes from the bundle dist/cli/flow.cjs (never the ~130 files of @oclif/core),
// and a read command loads none of the heavy packages only writing or remote commands need.
const HEAVY = ['@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@aws-sdk/client-batch', 'esbuild', 'isomorphic-git', 'oxc-parser', '@conda-org/rattler', 'tar'];

let dir = '';
let file = '';

beforeAll(async () => {
  dir = await tempProject();
  file = copyFlow(dir, 'linear.ts');
  const r = await flow(['run', file, '-q'], { cwd: dir });
  expect(r.exitCode, r.stderr).toBe(0);
});

describe('CLI start-up: modules loaded', () => {
  const readCommands: Array<[string, () => string[]]> = [
    ['--version', () => ['--version']],
    ['show', () => ['show', file]],
    ['check', () => ['check', file]],
    ['get', () => ['get', 'run-1', 'result']],
    ['inspect', () => ['inspect', 'run-1', '--json']],
    ['runs', () => ['runs', '--json']],
  ];

  for (const [name, args] of readCommands) {
    it(`flow ${name} loads oclif from the bundle and none of ${HEAVY.join(', ')}`, async () => {
      const r = await flowModules(args(), dir);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.modules).toContain(join(REPO, 'dist', 'cli', 'flow.cjs'));
      const packages = packagesOf(r.modules);
      expect(packages.filter((p) => HEAVY.includes(p) || p === '@oclif/core')).toEqual([]);
    });
  }

  it('flow --version loads no library module (the library is imported by the commands that use it)', async () => {
    const r = await flowModules(['--version'], dir);
    expect(r.stdout).toMatch(/^flowrun\/\d+\.\d+\.\d+ /);
    expect(r.modules.filter((m) => m.includes('/dist/src/'))).toEqual([]);
  });

  it('the probe sees packages loaded on demand: check with its compile cache removed loads esbuild, show with its graph cache removed loads oxc-parser', async () => {
    rmSync(join(dir, 'node_modules', '.cache'), { recursive: true, force: true });
    const check = await flowModules(['check', file], dir);
    expect(check.exitCode, check.stderr).toBe(0);
    expect(packagesOf(check.modules)).toContain('esbuild');
    expect(packagesOf(check.modules)).toContain('oxc-parser');
  });

  it('help still comes from oclif\'s help plugin', async () => {
    const r = await flow(['help', 'get'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/USAGE\n\s+\$ flow get PATH NAME/);
  });
});
