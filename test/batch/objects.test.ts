import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectBridge } from '../../src/batch/objects.js';
import { LocalStore } from '../../src/store/local.js';
import { S3Store } from '../../src/store/s3.js';
import { loadArtifact, saveArtifact } from '../../src/task/artifacts.js';
import { tempDir } from '../helpers/cli.js';
import { startS3Server, type S3TestServer } from '../helpers/s3.js';

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => server?.stop());

describe('ObjectBridge between the orchestrator store and the S3 store of Batch jobs', () => {
  it('moves an artifact with its blobs up and back, each object once', async () => {
    const local = LocalStore.open(join(tempDir(), 'store'));
    const remote = await S3Store.open(await server.location());
    const big = Buffer.alloc(3 << 20, 7); // above the blob threshold: stored as its own object
    const ref = saveArtifact(local, { big, label: 'x' }, 'fit', 'data');
    const bridge = new ObjectBridge(local, remote);
    await server.resetStats();
    await bridge.upload([ref, ref]);
    const first = await server.stats();
    expect(first.PUT).toBe(2); // the document and the blob
    await bridge.upload([ref]);
    expect((await server.stats()).PUT).toBe(2); // known to be there: no request at all

    const other = LocalStore.open(join(tempDir(), 'store'));
    await new ObjectBridge(other, remote).download([ref]);
    const value = loadArtifact(other, ref) as { big: Buffer; label: string };
    expect(value.label).toBe('x');
    expect(Buffer.compare(value.big, big)).toBe(0);
  });

  it('moves nothing when both sides are the same store', async () => {
    const local = LocalStore.open(join(tempDir(), 'store'));
    const ref = saveArtifact(local, [1, 2, 3], 'start', 'xs');
    await new ObjectBridge(local, local).upload([ref], ['0'.repeat(64)]); // a missing object would throw if it were read
  });
});
