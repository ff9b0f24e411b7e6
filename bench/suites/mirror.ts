import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pullRun } from '../../src/mirror/pull.js';
import { pushRun, RemoteInventory } from '../../src/mirror/push.js';
import { runRecordPath, taskRecordPath, type RunRecord, type TaskRecord } from '../../src/runtime/records.js';
import { encodeObjectFile, LocalStore } from '../../src/store/local.js';
import { mapLimit, S3Store } from '../../src/store/s3.js';
import { S3_TEST_ENV, startS3Server } from '../../tools/s3-test-server/launch.js';
import { BIN, median, ms, type Section } from '../util.js';

const SMALL = 10_000;

/** A finished run written straight into a local store: `n` tasks with one small artifact each. */
function syntheticRun(store: LocalStore, id: string, n: number, artifact: (i: number) => Buffer): void {
  const logs = store.putObjectSync(Buffer.alloc(0));
  const now = new Date().toISOString();
  for (let i = 0; i < n; i++) {
    const hash = store.putObjectSync(artifact(i));
    const rec: TaskRecord = {
      schema: 'flowrun.task/1', run: id, step: 'work', id: String(i), stack: [{ step: 'start', index: i, count: n }], parents: ['start/0'], status: 'ok',
      attempts: [{ attempt: 0, started: now, finished: now, durationMs: 1, status: 'ok' }], artifacts: { value: { hash, size: 16 } }, logs: { stdout: logs, stderr: logs },
    };
    store.writeRecordSync(taskRecordPath(id, 'work', String(i)), rec);
  }
  const run: RunRecord = {
    schema: 'flowrun.run/1', id, flow: 'Bench', file: 'bench.ts', status: 'ok', params: {}, seed: 1, tags: [], started: now, finished: now,
    host: 'bench', pid: 1, flowrunVersion: '0', node: process.version, steps: [{ name: 'work', type: 'linear' }], git: null,
  };
  store.createRecordSync(`runs/${id}/claim.json`, { id });
  store.writeRecordSync(runRecordPath(id), run);
}

const requests = (stats: Record<string, number>) => Object.values(stats).reduce((a, b) => a + b, 0);

export async function mirror(): Promise<Section[]> {
  Object.assign(process.env, S3_TEST_ENV);
  const server = await startS3Server();
  const work = mkdtempSync(join(tmpdir(), 'flowrun-bench-mirror-'));
  try {
    const rows = [];
    // 1. 10,000 small artifacts: flowrun's push versus a naive HEAD + PUT per object.
    process.stderr.write('  writing the synthetic runs...\n');
    const local = LocalStore.open(join(work, 'small'));
    syntheticRun(local, 'run-1', SMALL, (i) => Buffer.from(JSON.stringify({ fra: 1, v: { i, score: i / 7 } })));
    const remote = await S3Store.open(await server.location());
    await server.resetStats();
    let t0 = performance.now();
    const pushed = await pushRun(local, remote, 'run-1', await RemoteInventory.read(remote));
    const pushMs = performance.now() - t0;
    const ours = requests(await server.stats());

    const naive = await S3Store.open(await server.location());
    const hashes: string[] = [];
    for await (const h of local.listObjects()) hashes.push(h);
    await server.resetStats();
    t0 = performance.now();
    await mapLimit(hashes, 6, async (h) => {
      const Key = naive.objectKey(h);
      try { await naive.client.send(new HeadObjectCommand({ Bucket: naive.loc.bucket, Key })); return; } catch { /* absent: upload */ }
      await naive.client.send(new PutObjectCommand({ Bucket: naive.loc.bucket, Key, Body: readFileSync(local.objectPath(h)) }));
    });
    const files = await local.listRecords('runs/run-1/tasks/work');
    await mapLimit(files, 6, async (f) => naive.writeRecord(`runs/run-1/tasks/work/${f}`, local.readRecordSync(`runs/run-1/tasks/work/${f}`)));
    await naive.writeRecord(runRecordPath('run-1'), local.readRecordSync(runRecordPath('run-1')));
    const naiveMs = performance.now() - t0;
    const naiveRequests = requests(await server.stats());
    process.stderr.write(`  push ${ms(pushMs)}, naive ${ms(naiveMs)}\n`);
    rows.push(
      { name: `push, run with ${SMALL.toLocaleString('en')} small artifacts`, value: `${ours} requests, ${ms(pushMs)}`, note: `${pushed.objects} objects in ${pushed.packs} packs + 1 record bundle + run record` },
      { name: 'naive HEAD + PUT per object and record', value: `${naiveRequests} requests, ${ms(naiveMs)}`, note: `**${(naiveRequests / ours).toFixed(0)}× fewer requests** with flowrun (target ≥ 10×), ${(naiveMs / pushMs).toFixed(1)}× faster` },
    );
    await server.resetStats();
    t0 = performance.now();
    await pullRun(remote, LocalStore.open(join(work, 'small-pulled')), 'run-1');
    rows.push({ name: `pull of the same run`, value: `${requests(await server.stats())} requests, ${ms(performance.now() - t0)}`, note: 'each object verified (sha256) before it is stored' });

    process.stderr.write('  small pull done\n');
    // 2. One 1 GiB artifact: push and pull throughput versus the SDK's Upload of the same bytes alone.
    const big = LocalStore.open(join(work, 'big'));
    const blob = Buffer.allocUnsafe(1 << 30);
    for (let i = 0; i < blob.length; i += 4) blob.writeUInt32LE((i * 2654435761) >>> 0, i);
    syntheticRun(big, 'run-1', 1, () => blob);
    const bigRemote = await S3Store.open(await server.location());
    t0 = performance.now();
    await pushRun(big, bigRemote, 'run-1', await RemoteInventory.read(bigRemote));
    const bigPush = performance.now() - t0;
    t0 = performance.now();
    await pullRun(bigRemote, LocalStore.open(join(work, 'big-pulled')), 'run-1');
    const bigPull = performance.now() - t0;
    const plain = await S3Store.open(await server.location());
    const body = Buffer.concat(encodeObjectFile(blob, false));
    t0 = performance.now();
    await new Upload({ client: plain.client, params: { Bucket: plain.loc.bucket, Key: plain.key('plain'), Body: body }, partSize: 8 << 20, queueSize: 4 }).done();
    const plainMs = performance.now() - t0;
    const mibs = (t: number) => `${((1 << 30) / (1 << 20) / (t / 1000)).toFixed(0)} MiB/s`;
    rows.push(
      { name: 'push of a 1 GiB artifact', value: `${ms(bigPush)} (${mibs(bigPush)})`, note: `${(bigPush / plainMs).toFixed(2)}× the SDK's Upload of the same bytes alone (${ms(plainMs)}): hashing + verification + the size check` },
      { name: 'pull of a 1 GiB artifact', value: `${ms(bigPull)} (${mibs(bigPull)})`, note: 'download, sha256 verification, local write' },
    );

    process.stderr.write(`  1 GiB push ${ms(bigPush)}, pull ${ms(bigPull)}, plain ${ms(plainMs)}\n`);
    // 3. `flow runs --remote` with 1,000 runs on the mirror.
    const many = await S3Store.open(await server.location());
    const record = local.readRecordSync<RunRecord>(runRecordPath('run-1'))!;
    await mapLimit(Array.from({ length: 1000 }, (_, i) => i + 1), 16, (i) => many.writeRecord(runRecordPath(`run-${i}`), { ...record, id: `run-${i}` }));
    const env = { ...process.env, FLOW_MIRROR_URL: `s3://${many.loc.bucket}/${many.loc.prefix}`, FLOW_S3_ENDPOINT: server.endpoint, FLOW_S3_FORCE_PATH_STYLE: 'true' };
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      const r = spawnSync(process.execPath, [BIN, 'runs', '--remote', '--json'], { cwd: work, env, stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`flow runs --remote exited ${r.status}`);
      times.push(performance.now() - t);
    }
    rows.push({ name: '`flow runs --remote`, 1,000 runs', value: ms(median(times)), note: 'median of 3; one listing + 1,000 record GETs, 16 in flight' });
    return [{ title: 'S3 mirror (issue #7)', command: '`npm run bench -- mirror` (s3rver 3.7.1 on 127.0.0.1 via tools/s3-test-server, same machine)', rows }];
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
