import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { npmEnvTarball } from '../../src/batch/envs.js';
import { Run } from '../../src/client/client.js';
import { LocalStore } from '../../src/store/local.js';
import { S3Store } from '../../src/store/s3.js';
import { type BatchWorld, batchTestsRunnable, configureBatch, ORCHESTRATOR_ENV, startBatchWorld } from '../helpers/batch.js';
import { flow, tempDir, tempProject } from '../helpers/cli.js';
import { type TestChannel, startChannel } from '../helpers/conda-channel.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

// Environments reach the container without a registry or a channel (issue #15): the project's own
// dependencies (its package-lock) and a step's @npm environment as linux-x64 tarballs in S3, a
// step's @conda environment as a linux-64 lock installed from archives copied into S3.

const runnable = batchTestsRunnable();
let world: BatchWorld;
let registry: TestRegistry;
let channel: TestChannel;
let scratch: string;

beforeAll(async () => {
  if (!runnable) return;
  scratch = tempDir('batch-envs-');
  [world, registry, channel] = await Promise.all([startBatchWorld(), startRegistry(join(scratch, 'registry')), startChannel(join(scratch, 'channel'))]);
  await registry.publish('project-dep', '1.2.0');
  await registry.publish('step-dep', '2.5.0');
}, 120_000);
afterAll(async () => {
  await Promise.all([world?.stop(), registry?.stop(), channel?.stop()]);
});

const envFlow = (channelUrl: string) => `import { execFileSync } from 'node:child_process';
import { FlowSpec, step, batch, npm, conda } from 'flowrun';
import projectDep from 'project-dep';

export default class EnvFlow extends FlowSpec {
  fromProject!: string;
  fromStep!: string;
  greeting!: string;
  prefixInside!: boolean;

  @batch({ cpu: 1 })
  @step start() {
    this.fromProject = projectDep.version;
    this.next(this.withNpm);
  }

  @batch({ cpu: 1 })
  @npm({ packages: { 'step-dep': '^2.0.0' } })
  @step async withNpm() {
    this.fromStep = (await import('step-dep')).default.version;
    this.next(this.withConda);
  }

  @batch({ cpu: 1 })
  @conda({ packages: { hello: '1.*' }, channels: ['${channelUrl}'] })
  @step withConda() {
    this.greeting = execFileSync('hello', { encoding: 'utf8' }).trim();
    this.prefixInside = (process.env.CONDA_PREFIX ?? '').startsWith('/root/');
    this.next(this.end);
  }

  @step end() {}
}
`;

describe.skipIf(!runnable)('environments in Batch containers, with no registry and no channel', () => {
  it('a project with its own npm dependencies, @batch+@npm and @batch+@conda (linux-64 lock) run from S3; flow replay --with batch reproduces', async () => {
    const dir = await tempProject({ 'flows/env.ts': envFlow(channel.url) });
    const cache = join(tempDir(), 'cache');
    const env = { ...ORCHESTRATOR_ENV, ...registry.env(cache) };
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, dependencies: { 'project-dep': '1.2.0' } }, null, 2));
    // The lock, and the package beside the linked flowrun (an npm install would remove the link).
    await execa('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund'], { cwd: dir, env });
    const side = tempDir();
    await execa('npm', ['install', '--no-audit', '--no-fund', '--prefix', side, 'project-dep@1.2.0'], { cwd: side, env });
    cpSync(join(side, 'node_modules', 'project-dep'), join(dir, 'node_modules', 'project-dep'), { recursive: true });
    await execa('git', ['add', '-A'], { cwd: dir });
    await execa('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=test', 'commit', '-qm', 'deps'], { cwd: dir });
    await configureBatch(dir, world);

    const r = await flow(['run', 'flows/env.ts', '--environment', 'conda'], { cwd: dir, env });
    expect(r.exitCode, r.stderr).toBe(0);
    const run = await Run.get('run-1', { store: join(dir, '.flow') });
    expect(await run.step('start').task('0').artifact('fromProject')).toBe('1.2.0');
    expect(await run.step('withNpm').task('0').artifact('fromStep')).toBe('2.5.0');
    expect(await run.step('withConda').task('0').artifact('greeting')).toBe('hello 1.0');
    expect(await run.step('withConda').task('0').artifact('prefixInside')).toBe(true);
    // The conda lock was solved for linux-64 and its one archive came from the channel once: to the orchestrator, never to the container.
    const record = JSON.parse(readFileSync(join(dir, '.flow', 'runs', 'run-1', 'run.json'), 'utf8')) as { condaEnvs: Record<string, { lock: string }> };
    const lock = JSON.parse(LocalStore.open(join(dir, '.flow')).getObjectSync(record.condaEnvs.withConda!.lock).toString('utf8')) as { platform: string };
    expect(lock.platform).toBe('linux-64');
    expect(channel.downloads()).toBe(1);
    // Nothing of this machine travels in the payload.
    const jobs = world.batch.emulator.allJobs() as unknown as Array<{ jobName: string; container: { environment: Array<{ name: string; value: string }> } }>;
    const condaJob = jobs.find((j) => j.jobName === 'EnvFlow-run-1-withConda')!;
    const payloadId = condaJob.container.environment.find((e) => e.name === 'FLOW_TASK_PAYLOAD')!.value;
    const bucketStore = new S3Store({ ...parseMirror(dir), endpoint: world.s3.endpoint, region: 'us-east-1', forcePathStyle: true });
    const payload = (await bucketStore.getObject(payloadId)).toString('utf8');
    bucketStore.client.destroy();
    for (const local of [dir, cache, process.env.PATH!, 'CONDA_PREFIX']) expect(payload).not.toContain(local);

    const replay = await flow(['replay', 'run-1', '--with', 'batch'], { cwd: dir, env });
    expect(replay.exitCode, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/run-2: reproduced run-1 bit for bit/);
    expect(channel.downloads()).toBe(1);
  }, 300_000);

  it('a lock with install scripts cannot be installed for linux-x64 from another platform: named, with the prebuilt-image way out', async () => {
    const lock = Buffer.from(
      JSON.stringify({ lockfileVersion: 3, packages: { '': { dependencies: { native: '1.0.0' } }, 'node_modules/native': { version: '1.0.0', hasInstallScript: true }, 'node_modules/@esbuild/darwin-arm64': { version: '0.1.0', optional: true, os: ['darwin'], cpu: ['arm64'], hasInstallScript: true } } }),
    );
    const store = LocalStore.open(join(tempDir(), 'store'));
    const e = await npmEnvTarball(store, lock, { lockHash: 'a'.repeat(64), what: 'the @npm environment of step fit', info: () => {}, host: 'darwin-arm64' }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toMatchObject({ code: 'BATCH_ENV_INSTALL_SCRIPTS', exitCode: 2, data: { packages: ['native'] } });
    expect((e as Error).message).toContain('the @npm environment of step fit has packages with install scripts (native)');
    expect((e as { fix: string }).fix).toContain('prebuilt image');
  });
});

function parseMirror(dir: string): { bucket: string; prefix: string } {
  const url = (JSON.parse(readFileSync(join(dir, '.flowrc'), 'utf8')) as { mirror: { url: string } }).mirror.url;
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(url)!;
  return { bucket: m[1]!, prefix: `${m[2]!.replace(/\/$/, '')}/` };
}
