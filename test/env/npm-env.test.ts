import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { JSON_OUTPUTS } from '../../src/cli/json/outputs.js';
import { flow, tempDir, tempProject } from '../helpers/cli.js';
import { type TestRegistry, freePort, startRegistry } from '../helpers/registry.js';

let registry: TestRegistry;

beforeAll(async () => {
  registry = await startRegistry(tempDir('flowrun-registry-'));
  for (const v of ['1.0.0', '2.0.0']) await registry.publish('flowrun-probe', v);
  await registry.publish('flowrun-replay-probe', '1.0.0');
});
afterAll(async () => {
  await registry?.stop();
});

/** Two steps pinning their own versions of one package, and a step without @npm. */
function versionsFlow(first: string, second: string): string {
  return `import { createRequire } from 'node:module';
import { FlowSpec, step, npm } from 'flowrun';

export default class Versions extends FlowSpec {
  v1!: string;
  v1Required!: string;
  v2!: string;
  plain!: string;

  @npm({ packages: { 'flowrun-probe': '${first}' } })
  @step async start() {
    this.v1 = (await import('flowrun-probe')).default.version;
    this.v1Required = createRequire(import.meta.url)('flowrun-probe').version;
    this.next(this.other);
  }

  @npm({ packages: { 'flowrun-probe': '${second}' } })
  @step async other() {
    this.v2 = (await import('flowrun-probe')).default.version;
    this.next(this.end);
  }

  @step end() {
    try { createRequire(import.meta.url).resolve('flowrun-probe'); this.plain = 'found'; } catch { this.plain = 'not found'; }
  }
}
`;
}

const installs = (stderr: string) => stderr.split('\n').filter((l) => l.includes('installing the npm environment')).length;

async function get(cwd: string, env: Record<string, string>, path: string, name: string): Promise<unknown> {
  const r = await flow(['get', path, name, '--json'], { cwd, env });
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { value: unknown }).value;
}

async function runRecord(cwd: string, env: Record<string, string>, run: string) {
  const r = await flow(['inspect', run, '--json'], { cwd, env });
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { run: { envLocks: Record<string, string>; stepEnvs: Record<string, { lock: string; spec: unknown }> } }).run;
}

describe('@npm environments', () => {
  it('gives each step its own locked versions for import and require, records the locks, and installs nothing the second time', async () => {
    const cwd = await tempProject({ 'flow.ts': versionsFlow('^1.0.0', '^2.0.0') });
    const env = registry.env(tempDir());
    const r1 = await flow(['run', 'flow.ts'], { cwd, env });
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(installs(r1.stderr)).toBe(2);
    expect(await get(cwd, env, 'run-1/start', 'v1')).toBe('1.0.0');
    expect(await get(cwd, env, 'run-1/start', 'v1Required')).toBe('1.0.0');
    expect(await get(cwd, env, 'run-1/other', 'v2')).toBe('2.0.0');
    expect(await get(cwd, env, 'run-1/end', 'plain')).toBe('not found');

    const rec = await runRecord(cwd, env, 'run-1');
    expect(rec.stepEnvs.start!.spec).toEqual({ packages: { 'flowrun-probe': '^1.0.0' } });
    expect(rec.stepEnvs.start!.lock).not.toBe(rec.stepEnvs.other!.lock);
    expect(rec.envLocks.start).toBe(rec.stepEnvs.start!.lock);
    expect(rec.stepEnvs.end).toBeUndefined();

    const e = await flow(['env', 'run-1/other', '--json'], { cwd, env });
    expect(e.exitCode, e.stderr).toBe(0);
    expect(v.safeParse(JSON_OUTPUTS.env, JSON.parse(e.stdout)).issues, 'the published schema (schemas/env.schema.json)').toBeUndefined();
    const view = (JSON.parse(e.stdout) as { envs: Array<{ kind: string; lock: string; packages: unknown[] }> }).envs;
    expect(view.map((v) => [v.kind, v.lock])).toEqual([['npm', rec.stepEnvs.other!.lock]]);
    expect(view[0]!.packages).toEqual([{ path: 'node_modules/flowrun-probe', name: 'flowrun-probe', version: '2.0.0' }]);
    const text = await flow(['env', 'run-1/other'], { cwd, env });
    expect(text.stdout).toMatch(/flowrun-probe\s+2\.0\.0/);
    const inspect = await flow(['inspect', 'run-1'], { cwd, env });
    expect(inspect.stdout).toContain(`env lock  other: npm ${rec.stepEnvs.other!.lock.slice(0, 12)}`);

    const marker = join(env.FLOW_CACHE_DIR!, 'npm', rec.stepEnvs.start!.lock, '.flowrun-complete');
    const before = statSync(marker).mtimeMs;
    const r2 = await flow(['run', 'flow.ts'], { cwd, env });
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(installs(r2.stderr)).toBe(0);
    expect(statSync(marker).mtimeMs).toBe(before);
    expect((await runRecord(cwd, env, 'run-2')).stepEnvs).toEqual(rec.stepEnvs);
    expect(await get(cwd, env, 'run-2/other', 'v2')).toBe('2.0.0');
  });

  it('a spec change changes the lock hash, and flow diff lists the package change', async () => {
    const cwd = await tempProject({ 'flow.ts': versionsFlow('^1.0.0', '^2.0.0') });
    const env = registry.env(tempDir());
    expect((await flow(['run', 'flow.ts'], { cwd, env })).exitCode).toBe(0);
    writeFileSync(join(cwd, 'flow.ts'), versionsFlow('^1.0.0', '^1.0.0'));
    const r2 = await flow(['run', 'flow.ts'], { cwd, env });
    expect(r2.exitCode, r2.stderr).toBe(0);
    const [a, b] = [await runRecord(cwd, env, 'run-1'), await runRecord(cwd, env, 'run-2')];
    expect(b.stepEnvs.other!.lock).not.toBe(a.stepEnvs.other!.lock);
    expect(b.stepEnvs.start!.lock).toBe(a.stepEnvs.start!.lock);

    const d = await flow(['diff', 'run-1', 'run-2', '--json'], { cwd, env });
    const diff = JSON.parse(d.stdout) as { envPackages: unknown[] };
    expect(diff.envPackages).toEqual([{ step: 'other', manager: 'npm', path: 'node_modules/flowrun-probe', name: 'flowrun-probe', kind: 'changed', from: '2.0.0', to: '1.0.0' }]);
    const text = await flow(['diff', 'run-1', 'run-2'], { cwd, env });
    expect(text.stdout).toContain('other: flowrun-probe 2.0.0 → 1.0.0');

    // The locks are objects of the store: fsck reports one that went missing, naming run and step.
    const lock = a.stepEnvs.other!.lock;
    rmSync(join(cwd, '.flow', 'objects', lock.slice(0, 2), lock));
    const fsck = await flow(['fsck'], { cwd, env });
    expect(fsck.exitCode).toBe(3);
    expect(fsck.stdout + fsck.stderr).toContain('run-1 npm lock of other');
  });

  it('replay installs the recorded lock after a newer version was published, and works offline from the cache', async () => {
    const cwd = await tempProject({
      'flow.ts': `import { FlowSpec, step, npm } from 'flowrun';
export default class ReplayEnv extends FlowSpec {
  version!: string;
  @npm({ packages: { 'flowrun-replay-probe': '^1.0.0' } })
  @step async start() { this.version = (await import('flowrun-replay-probe')).default.version; this.next(this.end); }
  @step end() {}
}
`,
    });
    const env = registry.env(tempDir());
    expect((await flow(['run', 'flow.ts'], { cwd, env })).exitCode).toBe(0);
    expect(await get(cwd, env, 'run-1/start', 'version')).toBe('1.0.0');
    await registry.publish('flowrun-replay-probe', '1.1.0');
    // A run that resolves again now gets the newer version...
    const fresh = await flow(['run', 'flow.ts', '--refresh-envs'], { cwd, env });
    expect(fresh.exitCode, fresh.stderr).toBe(0);
    expect(await get(cwd, env, 'run-2/start', 'version')).toBe('1.1.0');
    // ...a replay of run-1 with an empty environment cache installs run-1's lock.
    rmSync(env.FLOW_CACHE_DIR!, { recursive: true, force: true });
    const replay = await flow(['replay', 'run-1'], { cwd, env });
    expect(replay.exitCode, replay.stderr + replay.stdout).toBe(0);
    expect(installs(replay.stderr)).toBe(1);
    expect(await get(cwd, env, 'run-3/start', 'version')).toBe('1.0.0');
    // Offline (registry unreachable): the cached environment is enough.
    const offline = { ...env, npm_config_registry: `http://127.0.0.1:${await freePort()}/` };
    const again = await flow(['replay', 'run-1'], { cwd, env: offline });
    expect(again.exitCode, again.stderr + again.stdout).toBe(0);
    expect(installs(again.stderr)).toBe(0);
  });

  it('two runs that need the same new environment at the same time install it once', async () => {
    const cwd = await tempProject({ 'flow.ts': versionsFlow('^2.0.0', '^2.0.0') });
    const env = registry.env(tempDir());
    const [a, b] = await Promise.all([flow(['run', 'flow.ts'], { cwd, env }), flow(['run', 'flow.ts'], { cwd, env })]);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(b.exitCode, b.stderr).toBe(0);
    expect(installs(a.stderr) + installs(b.stderr)).toBe(1);
    expect(await get(cwd, env, 'run-1/other', 'v2')).toBe('2.0.0');
    expect(await get(cwd, env, 'run-2/start', 'v1')).toBe('2.0.0');
  });

  it('reinstalls a cached environment that is incomplete or damaged', async () => {
    const cwd = await tempProject({ 'flow.ts': versionsFlow('^1.0.0', '^1.0.0') });
    const env = registry.env(tempDir());
    expect((await flow(['run', 'flow.ts'], { cwd, env })).exitCode).toBe(0);
    const dir = join(env.FLOW_CACHE_DIR!, 'npm', (await runRecord(cwd, env, 'run-1')).stepEnvs.start!.lock);
    rmSync(join(dir, 'node_modules', 'flowrun-probe', 'package.json'));
    const damaged = await flow(['run', 'flow.ts'], { cwd, env });
    expect(damaged.exitCode, damaged.stderr).toBe(0);
    expect(installs(damaged.stderr)).toBe(1);
    rmSync(join(dir, '.flowrun-complete'));
    const unfinished = await flow(['run', 'flow.ts'], { cwd, env });
    expect(unfinished.exitCode, unfinished.stderr).toBe(0);
    expect(installs(unfinished.stderr)).toBe(1);
    expect(await get(cwd, env, 'run-3/start', 'v1')).toBe('1.0.0');
    expect(readFileSync(join(dir, 'package-lock.json'), 'utf8')).toContain('"version": "1.0.0"');
  });

  it("an unknown package or an unsatisfiable range fails before the run with npm's message, naming the step and spec", async () => {
    const env = registry.env(tempDir());
    const unknown = await tempProject({ 'flow.ts': versionsFlow('^1.0.0', '^1.0.0').replace("'flowrun-probe': '^1.0.0' } })\n  @step async other", "'flowrun-nope': '^1.0.0' } })\n  @step async other") });
    const r = await flow(['run', 'flow.ts'], { cwd: unknown, env });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain("@npm({ packages: { 'flowrun-nope': '^1.0.0' } }) of step other cannot be resolved");
    expect(r.stderr).toMatch(/404|could not be found/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect((await flow(['runs', '--json'], { cwd: unknown, env })).stdout).not.toContain('run-1');

    const unsatisfiable = await tempProject({ 'flow.ts': versionsFlow('^9.0.0', '^1.0.0') });
    const u = await flow(['run', 'flow.ts'], { cwd: unsatisfiable, env });
    expect(u.exitCode).toBe(4);
    expect(u.stderr).toContain("@npm({ packages: { 'flowrun-probe': '^9.0.0' } }) of step start cannot be resolved");
    expect(u.stderr).toContain('No matching version found for flowrun-probe@^9.0.0');
  });

  it('an unreachable registry is exit 4 and names the URL', async () => {
    const cwd = await tempProject({ 'flow.ts': versionsFlow('^1.0.0', '^2.0.0') });
    const dead = `http://127.0.0.1:${await freePort()}/`;
    const r = await flow(['run', 'flow.ts'], { cwd, env: { ...registry.env(tempDir()), npm_config_registry: dead } });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain('ENV_REGISTRY_UNREACHABLE');
    expect(r.stderr).toContain(dead);
  });
});
