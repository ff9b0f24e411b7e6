/**
 * Starts the S3-compatible test server for tests and benchmarks and drives its /__test controls.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { s3ClientConfig } from '../../src/store/s3.js';
import type { S3Location } from '../../src/store/s3-location.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Works from the sources (vitest) and from dist/ (the benchmarks): server.cjs stays in tools/.
const HERE = fileURLToPath(new URL('.', import.meta.url));
const SERVER = join(HERE.includes('/dist/') ? HERE.replace(/\/dist\/.*$/, '') : join(HERE, '../..'), 'tools/s3-test-server/server.cjs');

/** s3rver's fixed credentials; the SDK's default chain reads them from these variables. */
export const S3_TEST_ENV = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
} as const;

export interface S3TestServer {
  endpoint: string;
  /** A new, empty bucket. */
  bucket(): Promise<string>;
  /** A location in a fresh bucket (or under a fresh prefix of `bucket`). */
  location(bucket?: string): Promise<S3Location>;
  faults(f: { rate503?: number; dropRate?: number; delayMs?: number; methods?: string[]; noConditional?: boolean }): Promise<void>;
  stats(): Promise<Record<string, number>>;
  resetStats(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts tools/s3-test-server/server.cjs (s3rver + the conditional-write/fault layer) on 127.0.0.1. */
export async function startS3Server(dataDir = mkdtempSync(join(tmpdir(), 's3-data-'))): Promise<S3TestServer> {
  const child: ChildProcess = fork(SERVER, ['--port', '0', '--dir', dataDir], {
    execArgv: ['--openssl-legacy-provider'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('exit', (code) => reject(new Error(`s3-test-server exited (${code}): ${out}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const admin = async (path: string) => {
    const res = await fetch(`${endpoint}/__test/${path}`);
    return (await res.json()) as Record<string, number>;
  };
  // The harness's own requests (creating a test's bucket) retry like any SDK client: on a loaded
  // machine a kept-alive socket the server has just closed fails the first try ("socket hang up").
  const client = new S3Client({ ...s3ClientConfig({ bucket: 'x', prefix: '', endpoint }), maxAttempts: 3, credentials: { accessKeyId: S3_TEST_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: S3_TEST_ENV.AWS_SECRET_ACCESS_KEY } });
  const bucket = async () => {
    const name = `b-${randomBytes(5).toString('hex')}`;
    await client.send(new CreateBucketCommand({ Bucket: name }));
    return name;
  };
  return {
    endpoint,
    bucket,
    location: async (b) => ({ bucket: b ?? (await bucket()), prefix: `p-${randomBytes(4).toString('hex')}/`, endpoint, forcePathStyle: true }),
    faults: async (f) => {
      const q = new URLSearchParams({ rate503: String(f.rate503 ?? 0), dropRate: String(f.dropRate ?? 0), delayMs: String(f.delayMs ?? 0), ...(f.methods ? { methods: f.methods.join(',') } : {}), ...(f.noConditional ? { noConditional: '1' } : {}) });
      await admin(`faults?${q}`);
    },
    stats: () => admin('stats'),
    resetStats: async () => {
      await admin('reset-stats');
    },
    stop: async () => {
      client.destroy();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
