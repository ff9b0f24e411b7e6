import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CondaLock, type CondaSpec, hostTarget, parseCondaLock, remoteTarget, resolveCondaLock } from '../../src/env/conda.js';
import { prepareEnvironments } from '../../src/env/prepare.js';
import { isFlowError } from '../../src/errors/index.js';
import { GRAPH_SCHEMA, type FlowGraph } from '../../src/graph/types.js';
import { LocalStore } from '../../src/store/local.js';
import { tempDir } from '../helpers/cli.js';
import { type TestChannel, startChannel } from '../helpers/conda-channel.js';

let channel: TestChannel;
beforeAll(async () => {
  channel = await startChannel(tempDir('flowrun-channel-'));
});
afterAll(async () => {
  await channel?.stop();
});
beforeEach(() => {
  process.env.FLOW_CACHE_DIR = join(tempDir(), 'cache');
});

const spec = (packages: Record<string, string>, python?: string): CondaSpec => ({ packages, ...(python ? { python } : {}), channels: [channel.url] });
const solve = async (s: CondaSpec, target = hostTarget()) => parseCondaLock((await resolveCondaLock(s, { steps: ['start'], refresh: true, target })).lock);
const pick = (lock: CondaLock) => Object.fromEntries(lock.packages.map((p) => [p.name, `${p.version}=${p.build}`]));

async function failure(s: CondaSpec, target = hostTarget()) {
  const e = await solve(s, target).then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!isFlowError(e)) throw new Error(`expected a FlowError, got ${String(e)}`);
  return e;
}

describe('conda solve: virtual packages, match specs, platform', () => {
  it("solves python: '3.11' as 3.11.* with this machine's virtual packages, skipping the build that needs a newer glibc", async () => {
    const lock = await solve(spec({ minipip: '23.0', libdemo: '3.3' }, '3.11'));
    expect(lock.platform).toBe('linux-64');
    expect(pick(lock)).toEqual({
      'ca-demo': '2024.2.2=hbcca054_0',
      libdemo: '3.3.0=hb9d3cd8_3',
      minipip: '23.0=pyhd8ed1ab_0',
      python: '3.11.9=h9a8b7c6_0_cpython',
      tzdata: '2024a=h0c530f3_0',
    });
    expect(lock.packages.every((p) => !p.name.startsWith('__') && p.url.startsWith(channel.url))).toBe(true);
  });

  it("'==3.11' is exactly 3.11 (3.11.0), as in conda; a newer python is picked only when the spec allows it", async () => {
    expect(pick(await solve(spec({}, '==3.11'))).python).toBe('3.11.0=h0b1c2d3_0_cpython');
    expect(pick(await solve(spec({}, '>=3.11'))).python).toBe('3.12.1=h1a2b3c4_0_cpython');
  });

  it('CONDA_OVERRIDE_GLIBC changes what the solve may use: a newer glibc picks the newer build, an empty one none', async () => {
    const newer = hostTarget({ ...process.env, CONDA_OVERRIDE_GLIBC: '2.99' });
    expect(newer.virtualPackages).toContainEqual({ name: '__glibc', version: '2.99', build: '0' });
    expect(pick(await solve(spec({}, '3.11'), newer)).python).toBe('3.11.9=h9a8b7c6_1_cpython');
    const none = hostTarget({ ...process.env, CONDA_OVERRIDE_GLIBC: '' });
    expect(none.virtualPackages.map((v) => v.name)).not.toContain('__glibc');
    const e = await failure(spec({}, '3.11'), none);
    expect(e).toMatchObject({ code: 'ENV_RESOLVE_FAILED', exitCode: 4 });
    expect(e.message).toContain('__glibc');
    expect(e.fix).toContain('CONDA_OVERRIDE_GLIBC');
  });

  it('__cuda is there only with a GPU driver or CONDA_OVERRIDE_CUDA', async () => {
    const e = await failure(spec({ 'needs-cuda': '*' }), hostTarget({ ...process.env, CONDA_OVERRIDE_CUDA: '' }));
    expect(e.message).toContain('__cuda >=12');
    expect(e.fix).toContain('CONDA_OVERRIDE_CUDA');
    expect(pick(await solve(spec({ 'needs-cuda': '*' }), hostTarget({ ...process.env, CONDA_OVERRIDE_CUDA: '12.4' })))).toEqual({ 'needs-cuda': '1.0=0' });
  });

  it('a remote linux-64 target uses the documented defaults (glibc 2.28, __cuda only for a GPU step), overridable the same way', async () => {
    const cpu = remoteTarget({}, {});
    expect(cpu).toEqual({
      platform: 'linux-64',
      source: 'remote-default',
      virtualPackages: [
        { name: '__archspec', version: '1', build: 'x86_64' },
        { name: '__glibc', version: '2.28', build: '0' },
        { name: '__linux', version: '4.18', build: '0' },
        { name: '__unix', version: '0', build: '0' },
      ],
    });
    expect(remoteTarget({ gpu: true }, {}).virtualPackages).toContainEqual({ name: '__cuda', version: '12.0', build: '0' });
    expect(remoteTarget({}, { CONDA_OVERRIDE_GLIBC: '2.17', CONDA_OVERRIDE_OSX: '13.0' }).virtualPackages.filter((v) => v.name === '__glibc' || v.name === '__osx')).toEqual([{ name: '__glibc', version: '2.17', build: '0' }]);
    expect(pick(await solve(spec({ 'needs-cuda': '*' }), remoteTarget({ gpu: true }, {})))).toEqual({ 'needs-cuda': '1.0=0' });
  });

  it("an unsatisfiable spec is ENV_RESOLVE_FAILED with the solver's explanation naming the conflicting packages", async () => {
    const e = await failure(spec({ oldlib: '*' }, '3.12'));
    expect(e).toMatchObject({ code: 'ENV_RESOLVE_FAILED', exitCode: 4, location: { step: 'start' } });
    expect(e.message).toContain("@conda({ packages: { 'oldlib': '*' }");
    expect(e.message).toContain('oldlib 1.0 would require');
    expect(e.message).toContain('python >=3.8,<3.12');
  });

  it('a version spec conda cannot parse is a usage error naming the package (exit 2), before solving', async () => {
    const e = await failure(spec({ libdemo: '>=3.3,,<' }));
    expect(e).toMatchObject({ code: 'ENV_CONDA_SPEC', exitCode: 2 });
    expect(e.message).toContain('for libdemo');
  });

  it("host detection: __unix, __linux (kernel), __glibc (from Node's report) and __archspec on this Linux machine", () => {
    const names = hostTarget({}).virtualPackages.map((v) => v.name);
    expect(names).toEqual(expect.arrayContaining(['__archspec', '__glibc', '__linux', '__unix']));
    const glibc = hostTarget({}).virtualPackages.find((v) => v.name === '__glibc')!;
    expect(glibc.version).toMatch(/^2\.\d+$/);
  });
});

describe('conda environments in prepareEnvironments', () => {
  const graph = (decorators: FlowGraph['steps'][number]['decorators']): FlowGraph => ({
    schema: GRAPH_SCHEMA,
    file: 'flow.ts',
    flow: 'F',
    line: 1,
    params: [],
    order: ['start'],
    decorators: [],
    steps: [{ name: 'start', line: 7, async: false, takesInputs: false, transitions: [], next: [], type: 'end', decorators, assigns: [], in: [] }],
  });

  it('a @conda step that runs on AWS Batch is solved for the remote linux-64 target and not installed here (the container installs it)', async () => {
    const store = LocalStore.open(join(tempDir(), 'store'));
    const before = channel.downloads();
    const g = graph([
      { name: 'conda', options: { packages: { hello: '1.*' }, channels: [channel.url] } },
      { name: 'batch', options: {} },
    ]);
    const out = await prepareEnvironments({ graph: g, store, projectRoot: tempDir(), conda: true, remoteSteps: new Map([['start', { gpu: false }]]) });
    const env = out.conda.get('start')!;
    expect(env.prefix).toBe('');
    expect(out.installed).toBe(0);
    const lock = JSON.parse(store.getObjectSync(env.record.lock).toString('utf8')) as { platform: string; packages: Array<{ name: string }> };
    expect(lock.platform).toBe('linux-64');
    expect(lock.packages.map((p) => p.name)).toEqual(['hello']);
    expect(channel.downloads()).toBe(before);
  });

  it("@conda({ packages: {}, python: '3.11' }) is an environment with just python", async () => {
    const store = LocalStore.open(join(tempDir(), 'store'));
    const g = graph([{ name: 'conda', options: { packages: {}, python: '3.11', channels: [channel.url] } }]);
    const r = await prepareEnvironments({ graph: g, store, projectRoot: tempDir(), conda: true, info: () => {} });
    const prefix = r.conda.get('start')?.prefix;
    expect(prefix).toBeDefined();
    expect(existsSync(join(prefix!, 'conda-meta/python-3.11.9-h9a8b7c6_0_cpython.json'))).toBe(true);
  });

  it('replaying a lock recorded for another platform (a linux-64 run replayed on a Mac) is ENV_PLATFORM_MISMATCH', async () => {
    const store = LocalStore.open(join(tempDir(), 'store'));
    const lock = await solve(spec({ hello: '1.*' }));
    const hash = store.putObjectSync(Buffer.from(JSON.stringify({ ...lock, platform: 'osx-arm64' })));
    const g = graph([{ name: 'conda', options: { packages: { hello: '1.*' }, channels: [channel.url] } }]);
    const e = await prepareEnvironments({ graph: g, store, projectRoot: tempDir(), recordedConda: { start: { kind: 'conda', spec: spec({ hello: '1.*' }), lock: hash } } }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toMatchObject({ code: 'ENV_PLATFORM_MISMATCH', exitCode: 4, location: { step: 'start' } });
    expect((e as Error).message).toContain('was solved for osx-arm64, but this machine is linux-64');
  });
});
