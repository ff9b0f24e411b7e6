import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { pullRun } from '../../src/mirror/pull.js';
import { pushRun, RemoteInventory } from '../../src/mirror/push.js';
import { runRecordPath, taskRecordPath, type RunRecord, type TaskRecord } from '../../src/metadata/records.js';
import { encodeObjectFile, LocalStore } from '../../src/store/local.js';
import { S3Store } from '../../src/store/s3.js';
import { mapLimit } from '../../src/util/map-limit.js';
import { S3_TEST_ENV, startS3Server } from '../../tools/s3-test-server/launch.js';
import { benchProject, BIN, median, ms, type Section } from '../util.js';

const SMALL = 10_000;

/** A finished run written straight into a local store: `n` tasks with one small artifact each. */
function syntheticRun(store: LocalStore, id: string, n: number, artifact: (i: number) => Buffer): void {
  const logs = store.putObjectSync(Buffer.alloc(0));
  const now = new Date().toISOString();
  for (let i = 0; i < n; i++) {
    const bytes = artifact(i);
    const hash = store.putObjectSync(bytes);
    const rec: TaskRecord = {
      schema: 'flowrun.task/1',
      run: id,
      step: 'work',
      id: String(i),
      stack: [{ step: 'start', index: i, count: n }],
      parents: ['start/0'],
      status: 'ok',
      attempts: [{ attempt: 0, started: now, finished: now, durationMs: 1, status: 'ok' }],
      artifacts: { value: { hash, size: bytes.byteLength } },
      logs: { stdout: logs, stderr: logs },
    };
    store.writeRecordSync(taskRecordPath(id, 'work', String(i)), rec);
  }
  const run: RunRecord = {
    schema: 'flowrun.run/1',
    id,
    flow: 'Bench',
    file: 'bench.ts',
    status: 'ok',
    params: {},
    seed: 1,
    tags: [],
    started: now,
    finished: now,
    host: 'bench',
    pid: 1,
    flowrunVersion: '0',
    node: process.version,
    steps: [{ name: 'work', type: 'linear' }],
    git: null,
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
      try {
        await naive.client.send(new HeadObjectCommand({ Bucket: naive.loc.bucket, Key }));
        return;
      } catch {
        /* absent: upload */
      }
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
    await mapLimit(
      Array.from({ length: 1000 }, (_, i) => i + 1),
      16,
      (i) => many.writeRecord(runRecordPath(`run-${i}`), { ...record, id: `run-${i}` }),
    );
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

/** The bomb set of issue #13: six objects of ~4.7 MB, each gzip that inflates to 4.5 GiB of zeros. */
const BOMBS = 6;
const BOMB_MEMBERS = 72;

/**
 * `flow pull` of a run whose records name gzip bombs (written straight into the bucket, as an
 * attacker with write access would), against the pull of the same run unforged: peak RSS of the
 * pulling process (getrusage maxRSS) and time to the refusal.
 */
export async function mirrorTrust(): Promise<Section[]> {
  Object.assign(process.env, S3_TEST_ENV);
  const server = await startS3Server();
  const work = mkdtempSync(join(tmpdir(), 'flowrun-bench-trust-'));
  const project = benchProject({});
  try {
    const member = gzipSync(Buffer.alloc(64 << 20), { level: 9 });
    const bomb = Buffer.concat([Buffer.from([0x46, 0x4f, 1, 1]), ...Array.from({ length: BOMB_MEMBERS }, () => member)]);
    const local = LocalStore.open(join(work, 'src'));
    syntheticRun(local, 'run-1', BOMBS, (i) => Buffer.from(JSON.stringify({ fra: 1, v: { i } })));
    const probe = join(work, 'rss-probe.mjs');
    writeFileSync(probe, "import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(process.env.RSS_OUT, String(process.resourceUsage().maxRSS)));\n");
    const pull = async (forge: (t: TaskRecord, hash: string) => void) => {
      const remote = await S3Store.open(await server.location());
      await pushRun(local, remote, 'run-1', await RemoteInventory.read(remote));
      const bundle = (await remote.readBundle('run-1'))!;
      const tasks = Object.values(bundle.records) as TaskRecord[];
      for (const t of tasks) {
        const hash = randomBytes(32).toString('hex');
        await remote.client.send(new PutObjectCommand({ Bucket: remote.loc.bucket, Key: remote.objectKey(hash), Body: bomb }));
        forge(t, hash);
      }
      await remote.writeBundle('run-1', bundle.records);
      const out = join(work, `rss-${randomBytes(4).toString('hex')}`);
      const env = { ...process.env, NODE_OPTIONS: `--import=${pathToFileURL(probe).href}`, RSS_OUT: out, FLOW_STORE: join(work, `pulled-${randomBytes(4).toString('hex')}`), FLOW_MIRROR_URL: `s3://${remote.loc.bucket}/${remote.loc.prefix}`, FLOW_S3_ENDPOINT: server.endpoint, FLOW_S3_FORCE_PATH_STYLE: 'true' };
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [BIN, 'pull', 'run-1', '--json'], { cwd: project, env, encoding: 'utf8' });
      const time = performance.now() - t0;
      remote.client.destroy();
      const code = (JSON.parse(r.stdout) as { error?: { code: string } }).error?.code ?? 'pulled';
      return { exit: r.status, code, time, rssMiB: Number(readFileSync(out, 'utf8')) / 1024 };
    };
    const clean = await pull(() => undefined);
    const asArtifacts = await pull((t, hash) => {
      t.artifacts.value!.hash = hash;
    });
    const asLogs = await pull((t, hash) => {
      t.logs.stdout = hash;
    });
    const row = (name: string, p: typeof clean, note: string) => ({ name, value: `peak RSS ${p.rssMiB.toFixed(0)} MiB, ${ms(p.time)}`, note: `exit ${p.exit}, ${p.code}; ${note}` });
    process.stderr.write(`  clean ${clean.rssMiB.toFixed(0)} MiB, artifacts ${asArtifacts.rssMiB.toFixed(0)} MiB, logs ${asLogs.rssMiB.toFixed(0)} MiB\n`);
    return [
      {
        title: 'S3 mirror: forged input (issue #13)',
        command: '`npm run bench -- mirrorTrust` (s3rver via tools/s3-test-server; peak RSS = getrusage maxRSS of the `flow pull` process)',
        rows: [
          row(`pull of a ${BOMBS}-task run, unforged`, clean, 'the baseline: CLI, SDK and the run'),
          row(`the same run, its ${BOMBS} artifacts swapped for gzip bombs (${(bomb.byteLength / 1e6).toFixed(1)} MB each, inflating to ${(BOMB_MEMBERS * 64) / 1024} GiB)`, asArtifacts, 'refused at the size the record declares, before a byte is stored; f3d2067 took six such objects to 2.2 GB RSS (issue #13)'),
          row(`the same bombs named as the tasks' logs (no declared size)`, asLogs, 'refused after inflating 1 GiB (the bound for objects without a declared size), streamed: memory stays flat'),
        ],
        text: `Each bomb is ${BOMB_MEMBERS} concatenated gzip members of 64 MiB of zeros behind flowrun's object header, written under objects/ with the S3 client and named by the run's record bundle. Peak RSS does not depend on machine load; the times do (the bomb-as-log time is inflating and hashing 1 GiB, about 5 s of one core here).`,
      },
    ];
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
    rmSync(project, { recursive: true, force: true });
  }
}
