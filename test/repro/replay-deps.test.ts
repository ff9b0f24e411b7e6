import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { flow, tempDir, tempProject } from '../helpers/cli.js';

const git = (cwd: string, ...args: string[]) => execa('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=test', ...args], { cwd });

/** A tiny npm package packed into `vendor/`, installed as a file: dependency (no registry needed). */
async function vendorPackage(project: string, version: string): Promise<string> {
  const src = join(tempDir(), `localdep-${version}`);
  mkdirSync(src);
  writeFileSync(join(src, 'package.json'), JSON.stringify({ name: 'localdep', version, type: 'module', main: 'index.js' }));
  writeFileSync(join(src, 'index.js'), `export const version = '${version}';\n`);
  mkdirSync(join(project, 'vendor'), { recursive: true });
  await execa('npm', ['pack', '--pack-destination', join(project, 'vendor')], { cwd: src });
  return `file:vendor/localdep-${version}.tgz`;
}

const FLOW = `import { FlowSpec, step } from 'flowrun';
import { version } from 'localdep';
export default class DepFlow extends FlowSpec {
  dep!: string;
  @step start() { this.dep = version; this.next(this.end); }
  @step end() {}
}
`;

describe('flow replay with a changed lock file', () => {
  it('installs the recorded lock once (npm ci, cached by lock hash) and reproduces with the old package version', async () => {
    const dir = await tempProject({ 'flows/dep.ts': FLOW });
    const cache = tempDir('flowrun-cache-');
    const env = { FLOW_CACHE_DIR: cache };
    const v1 = await vendorPackage(dir, '1.0.0');
    const pkg = { name: 'test-project', private: true, type: 'module', dependencies: { localdep: v1 } };
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
    await execa('npm', ['install', '--no-audit', '--no-fund', '--offline'], { cwd: dir });
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-qm', 'localdep 1');
    const run = await flow(['run', 'flows/dep.ts', '-q'], { cwd: dir, env });
    expect(run.exitCode, run.stderr).toBe(0);
    const id = run.stdout.trim();
    expect((await flow(['get', id, 'dep'], { cwd: dir })).stdout.trim()).toBe('1.0.0');

    // Upgrade the dependency: the project now has version 2 installed and a new lock.
    const v2 = await vendorPackage(dir, '2.0.0');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, dependencies: { localdep: v2 } }, null, 2));
    await execa('npm', ['install', '--no-audit', '--no-fund', '--offline'], { cwd: dir });
    const now = await flow(['run', 'flows/dep.ts', '-q'], { cwd: dir, env });
    expect((await flow(['get', now.stdout.trim(), 'dep'], { cwd: dir })).stdout.trim()).toBe('2.0.0');

    const first = await flow(['replay', id], { cwd: dir, env });
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    expect(first.stderr).toMatch(/installing the recorded dependencies/);
    expect(readdirSync(join(cache, 'npm'))).toHaveLength(1);

    const second = await flow(['replay', id], { cwd: dir, env });
    expect(second.exitCode, second.stdout + second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/installing/); // the cached environment is reused
  });
});

/** A PATH holding only node, npm, npx and git: no pnpm or yarn, whatever this machine has. */
async function minimalPath(): Promise<string> {
  const bin = tempDir('flowrun-bin-');
  for (const t of ['node', 'npm', 'npx', 'git', 'sh']) {
    const found = (await execa('sh', ['-c', `command -v ${t}`])).stdout.trim();
    symlinkSync(found, join(bin, t));
  }
  return bin;
}

describe('flow replay with a changed pnpm or yarn lock and no installer', () => {
  for (const [lock, tool] of [
    ['pnpm-lock.yaml', 'pnpm'],
    ['yarn.lock', 'yarn'],
  ] as const) {
    it(`fails with ENV_TOOL_MISSING (exit 4) naming ${lock} and ${tool}, before a run id is allocated`, async () => {
      const dir = await tempProject({ 'flows/plain.ts': FLOW.replace("import { version } from 'localdep';\n", "const version = '1';\n"), [lock]: '# lock v1\n' });
      const run = await flow(['run', 'flows/plain.ts', '-q'], { cwd: dir });
      expect(run.exitCode, run.stderr).toBe(0);
      writeFileSync(join(dir, lock), '# lock v2\n');
      const bin = await minimalPath();
      const replay = await flow(['replay', run.stdout.trim()], { cwd: dir, env: { PATH: bin, npm_config_cache: tempDir('flowrun-npm-cache-'), FLOW_CACHE_DIR: tempDir('flowrun-cache-') } });
      expect(replay.exitCode, replay.stderr).toBe(4);
      expect(replay.stderr).toContain('ENV_TOOL_MISSING');
      expect(replay.stderr).toContain(lock);
      expect(replay.stderr).toContain(`needs ${tool}`);
      expect(replay.stderr).not.toMatch(/\n\s+at /);
      expect(replay.stdout).toBe('');
      expect(readdirSync(join(dir, '.flow/runs'))).toEqual([run.stdout.trim()]);
    });
  }
});
