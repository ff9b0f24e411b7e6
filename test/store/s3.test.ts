import { CollectableS3Store } from '../../src/store/s3-gc.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MULTIPART_BYTES, S3Store } from '../../src/store/s3.js';
import { startS3Server, type S3TestServer } from '../helpers/s3.js';
import { storeConformance } from './conformance.js';
import { gcConformance } from './gc-conformance.js';

let server: S3TestServer;
let bucket: string;
beforeAll(async () => {
  server = await startS3Server();
  bucket = await server.bucket();
});
afterAll(async () => server?.stop());

// The very suite the local store passes, against a real S3-compatible server.
storeConformance('S3Store (s3rver)', async () => S3Store.open(await server.location(bucket)));
gcConformance('S3Store (s3rver)', 'two-pass', async () => CollectableS3Store.open(await server.location(bucket)));

describe('S3Store specifics', () => {
  it('reads objects from packs and records from bundles, listing them with the loose ones', async () => {
    const store = await S3Store.open(await server.location(bucket));
    const loose = await store.putObject(Buffer.from('loose'));
    const files = ['p1', 'p2', 'p3'].map((s) => ({ data: Buffer.from(s) }));
    const { sha256 } = await import('../../src/util/hash.js');
    const { encodeObjectFile } = await import('../../src/store/local.js');
    await store.putPack(files.map(({ data }) => ({ hash: sha256(data), file: Buffer.concat(encodeObjectFile(data)) })));
    const fresh = new S3Store(store.loc);
    for (const { data } of files) expect((await fresh.getObject(sha256(data))).equals(data)).toBe(true);
    expect(await fresh.hasObject(sha256(files[1]!.data))).toBe(true);
    const listed = new Set<string>();
    for await (const h of fresh.listObjects()) listed.add(h);
    expect(listed).toEqual(new Set([loose, ...files.map(({ data }) => sha256(data))]));

    await store.writeRecord('runs/run-1/tasks/start/0.json', { loose: true });
    await store.writeBundle('run-1', { 'train/0.json': { t: 0 }, 'train/1.json': { t: 1 }, 'end/0.json': { e: 0 } });
    const reader = new S3Store(store.loc);
    expect(await reader.listRecords('runs/run-1/tasks')).toEqual(['end', 'start', 'train']);
    expect(await reader.listRecords('runs/run-1/tasks/train')).toEqual(['0.json', '1.json']);
    expect(await reader.readRecord('runs/run-1/tasks/train/1.json')).toEqual({ t: 1 });
    expect(await reader.readRecord('runs/run-1/tasks/start/0.json')).toEqual({ loose: true });
  });

  it('uploads a big object as a multipart upload and reads it back verified', async () => {
    const store = await S3Store.open(await server.location(bucket));
    const { randomBytes } = await import('node:crypto');
    const data = randomBytes(MULTIPART_BYTES + (3 << 20));
    await server.resetStats();
    const hash = await store.putObject(data, { compress: false });
    const stats = await server.stats();
    expect(stats.POST ?? 0).toBeGreaterThanOrEqual(2); // create + complete multipart
    expect((await new S3Store(store.loc).getObject(hash)).equals(data)).toBe(true);
  });

  it('a missing bucket is a remote error (exit 4) naming the bucket and endpoint', async () => {
    const err = await S3Store.open({ bucket: 'no-such-bucket-here', prefix: '', endpoint: server.endpoint, forcePathStyle: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'REMOTE_BUCKET_NOT_FOUND', exitCode: 4 });
    expect(String((err as Error).message)).toContain('no-such-bucket-here');
    expect(String((err as Error).message)).toContain(server.endpoint);
  });
});
