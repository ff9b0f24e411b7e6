import { existsSync, readFileSync } from 'node:fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { S3Store } from '../../src/store/s3.js';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFlow, flow, tempProject } from '../helpers/cli.js';
import { S3_TEST_ENV, startS3Server, type S3TestServer } from '../helpers/s3.js';

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => server?.stop());

// A fixed date, so two "machines" committing the same files get the same commit.
const GIT_DATE = { GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z' };
const git = (cwd: string, ...args: string[]) => execa('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=test', ...args], { cwd, env: GIT_DATE });
const runId = (stdout: string) => stdout.split('\n')[0]!.trim();

/** A "machine": a project dir whose mirror is the given S3 location. */
async function machine(mirrorUrl: string, flows: string[] = ['repro-random.ts']): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = await tempProject();
  for (const f of flows) copyFlow(dir, f);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-qm', 'flows');
  return { dir, env: { ...S3_TEST_ENV, FLOW_MIRROR_URL: mirrorUrl, FLOW_S3_ENDPOINT: server.endpoint, FLOW_S3_FORCE_PATH_STYLE: 'true' } };
}

async function mirrorUrl(): Promise<string> {
  const loc = await server.location();
  return `s3://${loc.bucket}/${loc.prefix}`;
}

describe('S3 mirror: push, pull, on-demand fetch', () => {
  it('a run made on machine A is pushed automatically; B lists it, reads it on demand, pulls, diffs and replays it; fsck is clean on both sides', async () => {
    const url = await mirrorUrl();
    const a = await machine(url);
    const b = await machine(url);
    const run1 = await flow(['run', 'flows/repro-random.ts', '--seed', '7', '-q'], { cwd: a.dir, env: a.env });
    expect(run1.exitCode, run1.stderr).toBe(0);
    const id1 = runId(run1.stdout);
    expect(id1).toBe('run-1');

    const remoteRuns = await flow(['runs', '--remote', '--json'], { cwd: b.dir, env: b.env });
    expect(remoteRuns.exitCode, remoteRuns.stderr).toBe(0);
    expect((JSON.parse(remoteRuns.stdout) as { runs: Array<{ id: string; status: string }> }).runs.map((r) => [r.id, r.status])).toEqual([['run-1', 'ok']]);

    // B has never seen run-1: get fetches it from the mirror, verified, then reads it locally.
    const gotB = await flow(['get', id1, 'total', '--json'], { cwd: b.dir, env: b.env });
    expect(gotB.exitCode, gotB.stderr).toBe(0);
    const gotA = await flow(['get', id1, 'total', '--json'], { cwd: a.dir, env: a.env });
    expect(JSON.parse(gotB.stdout)).toEqual(JSON.parse(gotA.stdout));

    // B runs the same flow with another param: its id is claimed on the mirror, so it is run-2.
    const run2 = await flow(['run', 'flows/repro-random.ts', '--seed', '7', '--n', '3', '-q'], { cwd: b.dir, env: b.env });
    expect(run2.exitCode, run2.stderr).toBe(0);
    expect(runId(run2.stdout)).toBe('run-2');

    const pulled = await flow(['pull', '--json'], { cwd: a.dir, env: a.env });
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    expect((JSON.parse(pulled.stdout) as { runs: Array<{ run: string; status: string }> }).runs).toEqual([expect.objectContaining({ run: 'run-1', status: 'up-to-date' }), expect.objectContaining({ run: 'run-2', status: 'pulled' })]);
    const diff = await flow(['diff', 'run-1', 'run-2'], { cwd: a.dir, env: a.env });
    expect(diff.stdout).toContain('n: 6 → 3');
    expect(diff.stdout).toMatch(/code\s+identical/);

    const replay = await flow(['replay', id1, '--max-workers', '2'], { cwd: b.dir, env: b.env });
    expect(replay.exitCode, replay.stdout + replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/reproduced run-1 bit for bit/);

    for (const m of [a, b]) {
      const fsck = await flow(['fsck'], { cwd: m.dir, env: m.env });
      expect(fsck.exitCode, fsck.stdout + fsck.stderr).toBe(0);
    }
    const remoteFsck = await flow(['fsck', '--remote', '--json'], { cwd: a.dir, env: a.env });
    expect(remoteFsck.exitCode, remoteFsck.stdout + remoteFsck.stderr).toBe(0);
    expect(JSON.parse(remoteFsck.stdout)).toMatchObject({ runs: 3, problems: [] });
  });

  it('flow push sends only what the mirror lacks, in packs, and a second push sends nothing', async () => {
    const url = await mirrorUrl();
    const a = await machine(url);
    const env = { ...a.env, FLOW_MIRROR_AUTO_PUSH: 'false' };
    for (const n of ['20', '30']) {
      const r = await flow(['run', 'flows/repro-random.ts', '--n', n, '-q'], { cwd: a.dir, env });
      expect(r.exitCode, r.stderr).toBe(0);
    }
    expect(JSON.parse((await flow(['runs', '--remote', '--json'], { cwd: a.dir, env })).stdout)).toMatchObject({ runs: [] });
    await server.resetStats();
    const push = await flow(['push', '--json'], { cwd: a.dir, env });
    expect(push.exitCode, push.stderr).toBe(0);
    const result = JSON.parse(push.stdout) as { runs: Array<{ run: string; status: string; objects: number; packs: number }> };
    expect(result.runs.map((r) => [r.run, r.status])).toEqual([
      ['run-1', 'pushed'],
      ['run-2', 'pushed'],
    ]);
    const objects = result.runs.reduce((s, r) => s + r.objects, 0);
    const stats = await server.stats();
    // Far fewer requests than objects: packs + one bundle + one run record per run.
    expect(objects).toBeGreaterThan(30);
    expect(stats.PUT ?? 0).toBeLessThan(objects / 3);
    expect(stats.HEAD ?? 0).toBe(0);

    const again = await flow(['push', '--json'], { cwd: a.dir, env });
    expect((JSON.parse(again.stdout) as { runs: Array<{ status: string }> }).runs.map((r) => r.status)).toEqual(['up-to-date', 'up-to-date']);
  });

  it('--store s3://… (FLOW_STORE) makes S3 the primary store: the run claims its id there and lands there when it ends', async () => {
    const loc = await server.location();
    const a = await machine('unused');
    const env = { ...S3_TEST_ENV, FLOW_STORE: `s3://${loc.bucket}/${loc.prefix}`, FLOW_S3_ENDPOINT: server.endpoint, FLOW_S3_FORCE_PATH_STYLE: 'true' };
    delete (env as Record<string, string>).FLOW_MIRROR_URL;
    const r = await flow(['run', 'flows/repro-random.ts', '-q'], { cwd: a.dir, env });
    expect(r.exitCode, r.stderr).toBe(0);
    const store = new S3Store(loc);
    expect(await store.readRecord('runs/run-1/run.json')).toMatchObject({ id: 'run-1', status: 'ok' });
    expect(await store.readRecord('runs/run-1/claim.json')).toMatchObject({ id: 'run-1' });
  });

  it('a remote object that fails verification stops the pull (exit 3) naming it, and nothing of the run is recorded locally', async () => {
    const url = await mirrorUrl();
    const a = await machine(url);
    const b = await machine(url);
    expect((await flow(['run', 'flows/repro-random.ts', '-q'], { cwd: a.dir, env: a.env })).exitCode).toBe(0);
    const [, bucket, prefix] = /^s3:\/\/([^/]+)\/(.*)$/.exec(url)!;
    const store = new S3Store({ bucket: bucket!, prefix: prefix!, endpoint: server.endpoint, forcePathStyle: true });
    const { packs } = await store.listPacks();
    const pack = [...packs.keys()][0]!;
    const body = (await store.getPack(pack))!;
    body.writeUInt8(body.readUInt8(body.length - 3) ^ 0xff, body.length - 3);
    await store.client.send(new PutObjectCommand({ Bucket: bucket, Key: store.key(`packs/${pack}.pack`), Body: body }));
    const r = await flow(['pull', 'run-1'], { cwd: b.dir, env: b.env });
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/Object [0-9a-f]{64}\b.*\bcorrupt/);
    expect(existsSync(join(b.dir, '.flow/runs/run-1/run.json'))).toBe(false);
  });

  it('a local store without a mirror keeps working, and push says how to configure one', async () => {
    const dir = await tempProject();
    const r = await flow(['push'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('mirror.url');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a missing bucket fails the run before it starts (exit 4), naming the bucket and endpoint', async () => {
    const a = await machine('s3://no-such-bucket-x/p');
    const r = await flow(['run', 'flows/repro-random.ts', '-q'], { cwd: a.dir, env: a.env });
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toContain('no-such-bucket-x');
    expect(r.stderr).toContain(server.endpoint);
  });

  it.each([
    ['wrong credentials', { AWS_ACCESS_KEY_ID: 'AKIAUNKNOWNKEY', AWS_SECRET_ACCESS_KEY: 'wrong-secret-canary-1234' }, 'REMOTE_ACCESS_DENIED', /environment variables \(AWS_ACCESS_KEY_ID/],
    ['no credentials anywhere', { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_EC2_METADATA_DISABLED: 'true', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials', AWS_CONFIG_FILE: '/nonexistent/config' }, 'REMOTE_CREDENTIALS', /default chain/],
    ['a wrong endpoint', { FLOW_S3_ENDPOINT: 'http://127.0.0.1:9' }, 'REMOTE_UNREACHABLE', /127\.0\.0\.1:9/],
  ])('%s: exit 4, one paragraph naming bucket, endpoint and credential source, never the secret', async (_label, override, code, detail) => {
    const url = await mirrorUrl();
    const a = await machine(url);
    const r = await flow(['runs', '--remote', '--json'], { cwd: a.dir, env: { ...a.env, ...override } });
    expect(r.exitCode, r.stdout + r.stderr).toBe(4);
    const err = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
    expect(err.code).toBe(code);
    expect(err.message).toContain(url.slice(5, url.indexOf('/', 5)));
    expect(err.message).toMatch(detail);
    expect(r.stdout + r.stderr).not.toContain('wrong-secret-canary-1234');
  });

  it('a server that ignores If-None-Match is refused before a run id is claimed there (REMOTE_NO_CONDITIONAL_WRITES, exit 4)', async () => {
    const a = await machine(await mirrorUrl());
    await server.faults({ noConditional: true });
    let r;
    try {
      r = await flow(['run', 'flows/repro-random.ts', '-q'], { cwd: a.dir, env: a.env });
    } finally {
      await server.faults({});
    }
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toContain('REMOTE_NO_CONDITIONAL_WRITES');
    expect(existsSync(join(a.dir, '.flow/runs'))).toBe(false);
  });

  it('a malformed mirror.url is a config error naming the key', async () => {
    const a = await machine('s3://Bad_Bucket/x');
    const r = await flow(['runs', '--remote'], { cwd: a.dir, env: a.env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('mirror.url');
  });

  it('pulling an unknown run names the mirror and suggests a close id', async () => {
    const url = await mirrorUrl();
    const a = await machine(url);
    expect((await flow(['run', 'flows/repro-random.ts', '-q'], { cwd: a.dir, env: a.env })).exitCode).toBe(0);
    const r = await flow(['pull', 'run-11'], { cwd: a.dir, env: a.env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('run-1');
    expect(readFileSync(join(a.dir, '.flow/runs/run-1/run.json'), 'utf8')).toContain('"status":"ok"');
  });
});
