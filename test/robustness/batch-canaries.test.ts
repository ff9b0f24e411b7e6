import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ListObjectsV2Command, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeObjectFile } from '../../src/store/local.js';
import { copyFlow, flow, tempProject } from '../helpers/cli.js';
import { type BatchWorld, batchTestsRunnable, configureBatch, ORCHESTRATOR_ENV, startBatchWorld } from '../helpers/batch.js';
import { S3_TEST_ENV } from '../helpers/s3.js';
import { printFigures } from './figures.js';

// Part 5 of the robustness suite (issue #9) for the remote paths: canary secrets in the
// orchestrator's environment during a `--with batch` run and a push; then every byte flowrun sent
// elsewhere is searched: the S3 bucket (objects decompressed), the Batch endpoint's job
// definitions, submissions (container overrides, tags) and job logs, and the local store.

let world: BatchWorld;
const runnable = batchTestsRunnable();
beforeAll(async () => {
  if (runnable) world = await startBatchWorld();
});
afterAll(async () => {
  await world?.stop();
});

const CANARIES: Record<string, string> = {
  GITHUB_TOKEN: 'ghp_batchCanaryToken7c1d',
  DB_PASSWORD: 'batch-canary-db-password-3e9f',
  MY_API_KEY: 'batch-canary-api-key-5a2b',
  SERVICE_SECRET: 'batch-canary-service-secret-8d4c',
};

function decoded(key: string, bytes: Buffer): Buffer {
  const m = /objects\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(key);
  if (!m) return bytes;
  try {
    return decodeObjectFile(bytes, m[1]!, key);
  } catch {
    return bytes;
  }
}

function localFiles(dir: string): Array<{ where: string; bytes: Buffer }> {
  const out: Array<{ where: string; bytes: Buffer }> = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(p);
      else if (st) out.push({ where: p, bytes: decoded(p, readFileSync(p)) });
    }
  };
  walk(dir);
  return out;
}

describe.skipIf(!runnable)('robustness: secret canaries on S3 and Batch', () => {
  it('a --with batch run and a push with canary secrets in the environment write none of them anywhere', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'linear.ts');
    await execa('git', ['add', '-A'], { cwd: dir });
    await execa('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=test', 'commit', '-qm', 'flow'], { cwd: dir });
    await configureBatch(dir, world);
    const env = { ...ORCHESTRATOR_ENV, ...CANARIES };
    const run = await flow(['run', 'flows/linear.ts', '--with', 'batch'], { cwd: dir, env });
    expect(run.exitCode, run.stderr).toBe(0);
    const push = await flow(['push'], { cwd: dir, env });
    expect(push.exitCode, push.stderr).toBe(0);

    const places: Array<{ where: string; bytes: Buffer }> = [];
    // Everything in every bucket of the S3 server.
    const s3 = new S3Client({ region: 'us-east-1', endpoint: world.s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: S3_TEST_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: S3_TEST_ENV.AWS_SECRET_ACCESS_KEY } });
    const rc = JSON.parse(readFileSync(join(dir, '.flowrc'), 'utf8')) as { mirror?: { url?: string }; store?: string };
    const bucket = /^s3:\/\/([^/]+)/.exec(rc.mirror?.url ?? rc.store ?? '')![1]!;
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const body = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }))).Body!.transformToByteArray());
        places.push({ where: `s3://${bucket}/${o.Key}`, bytes: decoded(o.Key!, body) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    s3.destroy();
    // What the Batch endpoint received: job definitions, submissions, logs.
    const emulator = world.batch.emulator;
    const jobs = emulator.allJobs();
    places.push({ where: 'batch: jobs (submissions, overrides, tags)', bytes: Buffer.from(JSON.stringify(jobs)) });
    places.push({ where: 'batch: job definitions', bytes: Buffer.from(JSON.stringify(emulator.describeJobDefinitions({}))) });
    for (const job of jobs as unknown as Array<{ jobId: string; container?: { logStreamName?: string }; attempts?: Array<{ container?: { logStreamName?: string } }> }>) {
      for (const stream of [job.container?.logStreamName, ...(job.attempts ?? []).map((a) => a.container?.logStreamName)]) {
        const log = stream ? emulator.log(stream) : undefined;
        if (log) places.push({ where: `batch: log ${stream}`, bytes: Buffer.from(log) });
      }
    }
    places.push(...localFiles(join(dir, '.flow')));
    places.push({ where: 'flowrun stdout/stderr', bytes: Buffer.from(run.stdout + run.stderr + push.stdout + push.stderr) });

    const hits = places.flatMap((p) =>
      Object.entries(CANARIES)
        .filter(([, v]) => p.bytes.includes(v))
        .map(([k]) => `${k} in ${p.where}`),
    );
    printFigures('secret canaries: S3 and Batch', [
      ['canary values', Object.keys(CANARIES).length],
      ['S3 keys searched', places.filter((p) => p.where.startsWith('s3://')).length],
      ['Batch jobs searched', jobs.length],
      ['places searched', places.length],
      ['canary hits', hits.length],
    ]);
    expect(jobs.length).toBeGreaterThan(0);
    expect(places.some((p) => p.where.startsWith('s3://') && p.where.includes('/runs/'))).toBe(true);
    expect(hits).toEqual([]);
  }, 240_000);
});
