import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { JSON_OUTPUTS } from '../../src/cli/json/outputs.js';
import { Run } from '../../src/client/client.js';
import { flow, tempDir, tempProject } from '../helpers/cli.js';
import { LIBDEMO, type TestChannel, packageFile, placeholderOf, startChannel } from '../helpers/conda-channel.js';
import { freePort } from '../helpers/registry.js';

let channel: TestChannel;

beforeAll(async () => {
  channel = await startChannel(tempDir('flowrun-channel-'));
});
afterAll(async () => {
  await channel?.stop();
});

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

/**
 * A data scientist's step: python 3.11, a noarch python package with an entry point (pip's
 * shape), a relocated library (openssl's shape); it looks at its environment from inside.
 */
function condaForgeFlow(url = channel.url): string {
  return `import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlowSpec, step, conda } from 'flowrun';

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' }).trim();

export default class CondaForge extends FlowSpec {
  prefix!: string;
  python!: string[];
  imported!: string;
  entryPoint!: string;
  shebangs!: Record<string, string>;
  pc!: string;
  binary!: Buffer;

  @conda({ packages: { minipip: '23.0', libdemo: '3.3' }, python: '3.11', channels: ['${url}'] })
  @step start() {
    const prefix = process.env.CONDA_PREFIX ?? '';
    const file = (p: string) => readFileSync(join(prefix, p));
    this.prefix = prefix;
    this.python = run('python', ['-c', 'import sys; print(sys.executable); print(sys.prefix); print("%d.%d" % sys.version_info[:2])']).split('\\n');
    this.imported = run('python', ['-c', 'import minipip; print(minipip.__file__)']);
    this.entryPoint = run('minipip', ['--version']);
    this.shebangs = Object.fromEntries(['bin/minipip', 'bin/pydoc3.11'].map((p) => [p, file(p).toString('utf8').split('\\n')[0]!]));
    this.pc = file('lib/pkgconfig/libdemo.pc').toString('utf8');
    this.binary = file('lib/libdemo.so.3');
    this.next(this.end);
  }

  @step end() {}
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
    expect(v.safeParse(JSON_OUTPUTS.env, e).issues, 'the published schema (schemas/env.schema.json)').toBeUndefined();
    expect(e.envs).toEqual([{ kind: 'conda', lock, spec: { packages: { hello: '1.*' }, channels: [channel.url] }, packages: [{ path: 'hello', name: 'hello', version: '1.0' }] }]);

    const downloads = channel.downloads();
    const r2 = await flow(['run', 'flow.ts', '--environment=conda'], { cwd, env });
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(installs(r2.stderr)).toBe(0);
    expect(channel.downloads()).toBe(downloads);
  });

  it('a conda-forge-shaped env (python 3.11, noarch package with an entry point, relocated library, virtual-package deps) works from inside the step; the second run installs nothing; replay reproduces', async () => {
    const cwd = await tempProject({ 'flow.ts': condaForgeFlow() });
    const env = cacheEnv();
    const r1 = await flow(['run', 'flow.ts', '--environment=conda'], { cwd, env });
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(installs(r1.stderr)).toBe(1);
    const run = await Run.get('run-1', { store: join(cwd, '.flow') });
    const [task] = await run.step('start').tasks();
    const art = async <T>(name: string) => (await task!.artifact(name)) as T;
    const prefix = await art<string>('prefix');
    expect(prefix).toBe(join(env.FLOW_CACHE_DIR!, 'conda', run.record.condaEnvs!.start!.lock));
    const sp = `${prefix}/lib/python3.11/site-packages`;
    expect(await art('python')).toEqual([`${prefix}/bin/python3.11`, prefix, '3.11']);
    expect(await art('imported')).toBe(`${sp}/minipip/__init__.py`);
    expect(await art('entryPoint')).toBe(`minipip 23.0 from ${sp}/minipip (python 3.11)`);
    expect(await art('shebangs')).toEqual({ 'bin/minipip': `#!${prefix}/bin/python3.11`, 'bin/pydoc3.11': `#!${prefix}/bin/python3.11` });
    expect(await art('pc')).toContain(`prefix=${prefix}\n`);
    const binary = await art<Buffer>('binary');
    const original = packageFile(LIBDEMO, 'lib/libdemo.so.3');
    expect(binary.length).toBe(original.length);
    const padding = Buffer.alloc(Buffer.byteLength(placeholderOf(LIBDEMO)) - Buffer.byteLength(prefix));
    expect(binary.includes(Buffer.concat([Buffer.from(`${prefix}/lib/engines-3\0`), padding]))).toBe(true);
    const e = JSON.parse((await flow(['env', 'run-1/start', '--json'], { cwd, env })).stdout) as { envs: Array<{ packages: Array<{ name: string; version: string }> }> };
    expect(e.envs[0]!.packages.map((p) => `${p.name}=${p.version}`)).toEqual(['ca-demo=2024.2.2', 'libdemo=3.3.0', 'minipip=23.0', 'python=3.11.9', 'tzdata=2024a']);

    const downloads = channel.downloads();
    const r2 = await flow(['run', 'flow.ts', '--environment=conda'], { cwd, env });
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(installs(r2.stderr)).toBe(0);
    expect(channel.downloads()).toBe(downloads);

    // The prefix is gone, the package cache stays: replay reinstalls the recorded lock without downloading.
    rmSync(prefix, { recursive: true, force: true });
    const replay = await flow(['replay', 'run-1'], { cwd, env });
    expect(replay.exitCode, replay.stderr + replay.stdout).toBe(0);
    expect(installs(replay.stderr)).toBe(1);
    expect(replay.stderr).toContain('conda: 5 packages, 0 downloaded, 5 from the package cache');
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

  it("a package whose bytes do not match the lock's sha256 fails the install and leaves no prefix", async () => {
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

  it("an unknown package gives the solver's message naming step and spec; an unreachable channel is exit 4 naming the URL", async () => {
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
