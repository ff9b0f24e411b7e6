import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flow, tempDir, tempProject } from '../helpers/cli.js';
import { type TestChannel, startChannel } from '../helpers/conda-channel.js';
import { freePort } from '../helpers/registry.js';

let channel: TestChannel;

beforeAll(async () => { channel = await startChannel(tempDir('flowrun-channel-')); });
afterAll(async () => { await channel?.stop(); });

/** A flow whose start step runs the env's `hello` tool through PATH and stores what it printed. */
function condaFlow(packages: Record<string, string>, url = channel.url): string {
  return `import { execFileSync } from 'node:child_process';
import { FlowSpec, step, conda } from 'flowrun';

export default class CondaHello extends FlowSpec {
  greeting!: string;
  prefix!: string;
  outside!: string | null;

  @conda({ packages: ${JSON.stringify(packages)}, channels: ['${url}'] })
  @step start() {
    this.greeting = execFileSync('hello', { encoding: 'utf8' }).trim();
    this.prefix = process.env.CONDA_PREFIX ?? '';
    this.next(this.end);
  }

  @step end() { this.outside = process.env.CONDA_PREFIX ?? null; }
}
`;
}

const installs = (stderr: string) => stderr.split('\n').filter((l) => l.includes('installing the conda environment')).length;

function cacheEnv(): Record<string, string> {
  return { FLOW_CACHE_DIR: join(tempDir(), 'cache') };
}

async function get(cwd: string, env: Record<string, string>, path: string, name: string): Promise<unknown> {
  const r = await flow(['get', path, name, '--json'], { cwd, env });
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { value: unknown }).value;
}

describe('@conda environments (--environment=conda)', () => {
  it('refuses a flow with @conda without --environment=conda, naming the step and the flag', async () => {
    const cwd = await tempProject({ 'flow.ts': condaFlow({ hello: '1.*' }) });
    const r = await flow(['run', 'flow.ts'], { cwd, env: cacheEnv() });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('CONDA_NEEDS_ENVIRONMENT');
    expect(r.stderr).toContain('step start');
    expect(r.stderr).toContain('--environment=conda');
  });

  it('solves with rattler, locks URL + sha256, installs once, and the step calls the tool through PATH', async () => {
    const cwd = await tempProject({ 'flow.ts': condaFlow({ hello: '1.*' }) });
    const env = cacheEnv();
    const r1 = await flow(['run', 'flow.ts', '--environment=conda'], { cwd, env });
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(installs(r1.stderr)).toBe(1);
    expect(await get(cwd, env, 'run-1/start', 'greeting')).toBe('hello 1.0');
    expect(await get(cwd, env, 'run-1/end', 'outside')).toBeNull();
    const inspect = JSON.parse((await flow(['inspect', 'run-1', '--json'], { cwd, env })).stdout) as { run: { condaEnvs: Record<string, { lock: string }>; envLocks: Record<string, string> } };
    const lock = inspect.run.condaEnvs.start!.lock;
    expect(inspect.run.envLocks.start).toBe(lock);
    expect(await get(cwd, env, 'run-1/start', 'prefix')).toBe(join(env.FLOW_CACHE_DIR!, 'conda', lock));
    expect(existsSync(join(env.FLOW_CACHE_DIR!, 'conda', lock, 'bin', 'hi'))).toBe(true);

    const e = JSON.parse((await flow(['env', 'run-1/start', '--json'], { cwd, env })).stdout) as { envs: Array<{ kind: string; lock: string; packages: unknown[] }> };
    expect(e.envs).toEqual([{ kind: 'conda', lock, spec: { packages: { hello: '1.*' }, channels: [channel.url] }, packages: [{ path: 'hello', name: 'hello', version: '1.0' }] }]);

    const downloads = channel.downloads();
    const r2 = await flow(['run', 'flow.ts', '--environment=conda'], { cwd, env });
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(installs(r2.stderr)).toBe(0);
    expect(channel.downloads()).toBe(downloads);
  });

  it('installs a .conda archive, and flow diff shows the version change; replay reinstalls the recorded lock', async () => {
    const cwd = await tempProject({ 'flow.ts': condaFlow({ hello: '1.*' }) });
    const env = cacheEnv();
    expect((await flow(['run', 'flow.ts', '--environment=conda'], { cwd, env })).exitCode).toBe(0);
    writeFileSync(join(cwd, 'flow.ts'), condaFlow({ hello: '>=2' }));
    const r2 = await flow(['run', 'flow.ts', '--environment=conda'], { cwd, env });
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(await get(cwd, env, 'run-2/start', 'greeting')).toBe('hello 2.0');
    const diff = JSON.parse((await flow(['diff', 'run-1', 'run-2', '--json'], { cwd, env })).stdout) as { envPackages: unknown[] };
    expect(diff.envPackages).toEqual([{ step: 'start', manager: 'conda', path: 'hello', name: 'hello', kind: 'changed', from: '1.0', to: '2.0' }]);
    const text = await flow(['diff', 'run-1', 'run-2'], { cwd, env });
    expect(text.stdout).toContain('start: conda hello 1.0 → 2.0');

    // The installed environments are gone (the prefix path, stored as an artifact, stays the same).
    rmSync(join(env.FLOW_CACHE_DIR!, 'conda'), { recursive: true, force: true });
    const replay = await flow(['replay', 'run-1'], { cwd, env });
    expect(replay.exitCode, replay.stderr + replay.stdout).toBe(0);
    expect(installs(replay.stderr)).toBe(1);
    expect(await get(cwd, env, 'run-3/start', 'greeting')).toBe('hello 1.0');
  });

  it('a package whose bytes do not match the lock\'s sha256 fails the install and leaves no prefix', async () => {
    const cwd = await tempProject({ 'flow.ts': condaFlow({ tampered: '*' }) });
    const env = cacheEnv();
    const r = await flow(['run', 'flow.ts', '--environment=conda'], { cwd, env });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('ENV_PACKAGE_CORRUPT');
    expect(r.stderr).toContain(`${channel.url}/noarch/tampered-1.0-0.tar.bz2`);
    expect(readdirSync(join(env.FLOW_CACHE_DIR!, 'conda'))).toEqual([]);
  });

  it('refuses archives with a ../ path or a link leaving the prefix, writing nothing outside it', async () => {
    for (const name of ['traversal', 'badlink']) {
      const cwd = await tempProject({ 'flow.ts': condaFlow({ [name]: '*' }) });
      const env = cacheEnv();
      const r = await flow(['run', 'flow.ts', '--environment=conda'], { cwd, env });
      expect(r.exitCode, r.stderr).toBe(4);
      expect(r.stderr).toContain('ENV_ARCHIVE_UNSAFE');
      expect(readdirSync(join(env.FLOW_CACHE_DIR!, 'conda'))).toEqual([]);
      expect(existsSync(join(env.FLOW_CACHE_DIR!, 'escaped.txt'))).toBe(false);
      expect(existsSync(join(env.FLOW_CACHE_DIR!, '..', 'escaped.txt'))).toBe(false);
    }
  });

  it('an unknown package gives the solver\'s message naming step and spec; an unreachable channel is exit 4 naming the URL', async () => {
    const cwd = await tempProject({ 'flow.ts': condaFlow({ nope: '1.*' }) });
    const r = await flow(['run', 'flow.ts', '--environment=conda'], { cwd, env: cacheEnv() });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain("@conda({ packages: { 'nope': '1.*' }");
    expect(r.stderr).toContain('step start');
    expect(r.stderr).toContain('No candidates were found for nope 1.*');

    const dead = `http://127.0.0.1:${await freePort()}/channel`;
    const offline = await tempProject({ 'flow.ts': condaFlow({ hello: '1.*' }, dead) });
    const u = await flow(['run', 'flow.ts', '--environment=conda'], { cwd: offline, env: cacheEnv() });
    expect(u.exitCode).toBe(4);
    expect(u.stderr).toContain('ENV_CHANNEL_UNREACHABLE');
    expect(u.stderr).toContain(dead);
  });
});
