import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { taskBundle } from '../../src/batch/bundle.js';
import { Run } from '../../src/client/client.js';
import { DEFAULT_PATH } from '../../tools/batch-endpoint/sandbox.js';
import { type BatchWorld, batchTestsRunnable, configureBatch, JOB_ROLE, ORCHESTRATOR_ENV, startBatchWorld } from '../helpers/batch.js';
import { copyFlow, flow, REPO, tempDir, tempProject } from '../helpers/cli.js';
import { S3_TEST_ENV } from '../helpers/s3.js';

// The job runs the way a container runs (issue #15): the production job command (a loader that
// fetches the task-runtime bundle from S3) in an isolated root that sees none of the
// orchestrator's folders or variables; and what goes wrong before a task can run is reported
// with the job's own error, naming the image, the object or the permission.

const NO_S3_ROLE = 'arn:aws:iam::000000000000:role/flowrun-test-no-s3';
const runnable = batchTestsRunnable();
let world: BatchWorld;
let images: string;

beforeAll(async () => {
  if (!runnable) return;
  images = tempDir('images-');
  // An image whose node is 18: the real node, told to report 18 before anything runs.
  mkdirSync(join(images, 'node18', 'bin'), { recursive: true });
  writeFileSync(join(images, 'node18', 'node18.cjs'), "Object.defineProperty(process, 'version', { value: 'v18.20.4' });\nObject.defineProperty(process, 'versions', { value: { ...process.versions, node: '18.20.4' } });\n");
  writeFileSync(join(images, 'node18', 'bin', 'node'), '#!/bin/sh\nexec /usr/bin/node --require /image/node18.cjs "$@"\n');
  chmodSync(join(images, 'node18', 'bin', 'node'), 0o755);
  world = await startBatchWorld({
    roleCredentials: { [JOB_ROLE]: { ...S3_TEST_ENV }, [NO_S3_ROLE]: { AWS_ACCESS_KEY_ID: 'NOT-ALLOWED', AWS_SECRET_ACCESS_KEY: 'not-allowed' } },
    images: {
      'flowrun-test/node18': { mounts: [{ host: join(images, 'node18'), container: '/image' }], env: { PATH: `/image/bin:${DEFAULT_PATH}` } },
      'flowrun-test/no-node': { env: { PATH: '/opt/nothing/bin' } },
    },
  });
});
afterAll(async () => {
  await world?.stop();
  if (images) rmSync(images, { recursive: true, force: true });
});

interface EndpointJob {
  jobName: string;
  status: string;
  container: { environment?: Array<{ name: string; value: string }> };
}
const jobsOf = (flowName: string, run: string) => (world.batch.emulator.allJobs() as unknown as EndpointJob[]).filter((j) => j.jobName.startsWith(`${flowName}-${run}-`));

/** A step that looks at the machine it runs on and stores what it saw. */
const probeFlow = (paths: Record<string, string>) => `import { existsSync, readdirSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { homedir } from 'node:os';
import { FlowSpec, step, batch } from 'flowrun';

export default class ProbeFlow extends FlowSpec {
  seen!: Record<string, unknown>;

  @batch({ cpu: 1 })
  @step start() {
    const paths: Record<string, string> = ${JSON.stringify(paths)};
    this.seen = {
      visible: Object.fromEntries(Object.entries(paths).map(([k, p]) => [k, existsSync(p)])),
      canary: process.env.ORCHESTRATOR_CANARY ?? null,
      path: process.env.PATH,
      home: homedir(),
      homeEntries: readdirSync(homedir()).filter((n) => n !== '.cache'),
      registry: process.env.npm_config_registry,
      batchJob: Boolean(process.env.AWS_BATCH_JOB_ID),
      region: process.env.AWS_REGION,
      heapMiB: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
    };
    this.next(this.end);
  }

  @step end() {}
}
`;

describe.skipIf(!runnable)('Batch jobs run like containers, from the bundle the loader fetches', () => {
  let dir: string;
  let cache: string;
  let bundle: string;
  // One project for the file (made outside any test, so it outlives each one).
  beforeAll(async () => {
    dir = await tempProject();
    cache = tempDir('orchestrator-cache-');
  });
  afterAll(() => {
    for (const d of [dir, cache]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('the job sees only system folders, an empty HOME and the variables Batch and the job set; the task runs from the bundle', async () => {
    mkdirSync(join(dir, 'flows'));
    writeFileSync(join(dir, 'flows', 'probe.ts'), probeFlow({ project: dir, store: join(dir, '.flow'), flowrunCheckout: join(REPO, 'dist'), orchestratorCache: cache }));
    copyFlow(dir, 'batch-mixed.ts');
    await configureBatch(dir, world);
    const r = await flow(['run', 'flows/probe.ts'], { cwd: dir, env: { ...ORCHESTRATOR_ENV, ORCHESTRATOR_CANARY: 'from-the-orchestrator', FLOW_CACHE_DIR: cache } });
    expect(r.exitCode, r.stderr).toBe(0);
    const seen = await (await Run.get('run-1', { store: join(dir, '.flow') })).step('start').task('0').artifact('seen');
    // The worker's heap is sized from the job's memory (4096 MiB by default: 3072 MiB of old space, plus V8's young generation).
    const { heapMiB, ...rest } = seen as { heapMiB: number };
    expect(heapMiB).toBeGreaterThanOrEqual(3072);
    expect(heapMiB).toBeLessThan(3300);
    expect(rest).toEqual({
      visible: { project: false, store: false, flowrunCheckout: false, orchestratorCache: false },
      canary: null,
      path: DEFAULT_PATH,
      home: '/root',
      homeEntries: [],
      registry: 'http://127.0.0.1:9/',
      batchJob: true,
      region: 'us-east-1',
    });
    const env = Object.fromEntries(jobsOf('ProbeFlow', 'run-1')[0]!.container.environment!.map((e) => [e.name, e.value]));
    bundle = env.FLOW_BUNDLE!;
    expect(bundle).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(env).filter((k) => !/^(FLOW_|AWS_)/.test(k))).toEqual([]);
  }, 120_000);

  it('an image whose Node is older than 20: BATCH_IMAGE_NODE naming the image and the requirement, exit 4, no job left running', async () => {
    const r = await flow(['run', 'flows/batch-mixed.ts', '--with', 'batch:image=flowrun-test/node18'], { cwd: dir, env: ORCHESTRATOR_ENV });
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/BATCH_IMAGE_NODE: Task start\/0 \(Batch job \S+\) could not run: The image flowrun-test\/node18 runs Node v18\.20\.4; flowrun tasks need Node >= 20/);
    expect(jobsOf('BatchMixedFlow', 'run-2').every((j) => j.status === 'FAILED')).toBe(true);
  }, 120_000);

  it('an image without node at all: BATCH_IMAGE_NODE naming the image, exit 4', async () => {
    const r = await flow(['run', 'flows/batch-mixed.ts', '--with', 'batch:image=flowrun-test/no-node'], { cwd: dir, env: ORCHESTRATOR_ENV });
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/BATCH_IMAGE_NODE: Task start\/0 \(Batch job \S+\) could not start: the image flowrun-test\/no-node has no node on its PATH; flowrun tasks need Node >= 20/);
  }, 120_000);

  it('a job role without S3 access: the job says which permission it lacks, exit 4', async () => {
    await configureBatch(dir, world, { jobRoleArn: NO_S3_ROLE });
    const r = await flow(['run', 'flows/batch-mixed.ts'], { cwd: dir, env: ORCHESTRATOR_ENV });
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/BATCH_JOB_ACCESS_DENIED: Task heavy\/0 \(Batch job \S+\) could not run: The job role may not read s3:\/\/\S+\/flows\/objects\/\S+ \(HTTP 403: \w+\): it needs s3:GetObject/);
  }, 120_000);

  it('a bundle object corrupt on S3: BATCH_BUNDLE_CORRUPT naming the object, exit 3', async () => {
    const bucket = await configureBatch(dir, world);
    const s3 = new S3Client({ region: 'us-east-1', endpoint: world.s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: S3_TEST_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: S3_TEST_ENV.AWS_SECRET_ACCESS_KEY } });
    const key = `flows/objects/${bundle.slice(0, 2)}/${bundle}`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.concat([Buffer.from([0x46, 0x4f, 1, 0]), Buffer.from('{"schema":"flowrun.bundle/1","files":{}}')]) }));
    s3.destroy();
    const r = await flow(['run', 'flows/batch-mixed.ts'], { cwd: dir, env: ORCHESTRATOR_ENV });
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toContain(`BATCH_BUNDLE_CORRUPT: Task heavy/0`);
    expect(r.stderr).toContain(`The task runtime bundle s3://${bucket}/${key} is corrupt: its content hashes to`);
  }, 120_000);

  it('a bundle object missing from S3: the loader exits 3 naming the object', async () => {
    const bucket = await world.s3.bucket();
    const { command } = await taskBundle();
    const r = await execa(command[0]!, command.slice(1), {
      reject: false,
      cwd: tempDir(),
      env: { ...S3_TEST_ENV, FLOW_BUNDLE: 'ab'.repeat(32), FLOW_STORE_URL: `s3://${bucket}/flows`, FLOW_S3_ENDPOINT: world.s3.endpoint, FLOW_S3_FORCE_PATH_STYLE: 'true', FLOW_CACHE_DIR: join(tempDir(), 'cache') },
    });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(`BATCH_BUNDLE_MISSING: The task runtime bundle s3://${bucket}/flows/objects/ab/${'ab'.repeat(32)} is missing from the store.`);
    expect(r.stderr).toMatch(/^flowrun-error: \{"code":"BATCH_BUNDLE_MISSING","exitCode":3,"message":".*"\}$/m);
  }, 60_000);
});
