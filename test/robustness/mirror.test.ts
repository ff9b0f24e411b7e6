import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateRunId } from '../../src/runtime/run-id.js';
import { runRecordPath, type RunRecord, type TaskRecord } from '../../src/metadata/records.js';
import { S3Store } from '../../src/store/s3.js';
import type { S3Location } from '../../src/store/s3-location.js';
import { BIN, copyFlow, flow, tempProject } from '../helpers/cli.js';
import { S3_TEST_ENV, startS3Server, type S3TestServer } from '../helpers/s3.js';

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => server?.stop());

// CI counts; FLOW_ROBUSTNESS_LONG=1 (npm run robustness -- --long) runs the full counts.
const LONG = process.env.FLOW_ROBUSTNESS_LONG === '1';
const CLAIM_ROUNDS = LONG ? 20 : 2;
const KILLS = LONG ? 10 : 4;
const envFor = (loc: S3Location) => ({ ...S3_TEST_ENV, FLOW_MIRROR_URL: `s3://${loc.bucket}/${loc.prefix}`, FLOW_S3_ENDPOINT: server.endpoint, FLOW_S3_FORCE_PATH_STYLE: 'true' });

/** A project with one finished, not yet pushed run of a 60-split foreach. */
async function projectWithRun(loc: S3Location): Promise<string> {
  const dir = await tempProject();
  copyFlow(dir, 'foreach-squares.ts');
  const r = await flow(['run', 'flows/foreach-squares.ts', '--n', '60', '-q'], { cwd: dir, env: { ...envFor(loc), FLOW_MIRROR_AUTO_PUSH: 'false' } });
  expect(r.exitCode, r.stderr).toBe(0);
  return dir;
}

/** Every visible remote run (run record present) must have all the objects its records name. */
async function danglingReferences(loc: S3Location): Promise<string[]> {
  const store = new S3Store(loc);
  const present = new Set<string>();
  for await (const h of store.listObjects()) present.add(h);
  const bad: string[] = [];
  for (const id of await store.listRecords('runs')) {
    const run = await store.readRecord<RunRecord>(runRecordPath(id));
    if (!run) continue;
    if (run.code && !present.has(run.code.hash)) bad.push(`${id} code`);
    for (const step of await store.listRecords(`runs/${id}/tasks`)) {
      for (const file of await store.listRecords(`runs/${id}/tasks/${step}`)) {
        const t = await store.readRecord<TaskRecord>(`runs/${id}/tasks/${step}/${file}`);
        for (const [name, ref] of Object.entries(t?.artifacts ?? {})) if (!present.has(ref.hash)) bad.push(`${id}/${step}/${file} ${name}`);
      }
    }
  }
  return bad;
}

describe('S3 mirror robustness', () => {
  it(`64 concurrent run-id claims x ${CLAIM_ROUNDS} rounds against one bucket: no id is handed out twice`, async () => {
    const loc = await server.location();
    // 64 "machines": each its own client, so nothing is shared but the server.
    const machines = Array.from({ length: 64 }, () => new S3Store(loc));
    const all: string[] = [];
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      const ids = await Promise.all(machines.map((m, i) => allocateRunId(m, { machine: i, round })));
      expect(new Set(ids).size).toBe(64);
      all.push(...ids);
    }
    expect(new Set(all).size).toBe(64 * CLAIM_ROUNDS);
    for (const m of machines) m.client.destroy();
  });

  it('with 10% of requests failing with 503, push still completes, every object stored once, and fsck --remote is clean', async () => {
    const loc = await server.location();
    const dir = await projectWithRun(loc);
    await server.faults({ rate503: 0.1 });
    let push;
    try {
      push = await flow(['push', '--json'], { cwd: dir, env: envFor(loc) });
    } finally {
      await server.faults({});
    }
    expect(push.exitCode, push.stderr).toBe(0);
    const store = new S3Store(loc);
    const seen = new Map<string, number>();
    for (const { hash } of await collect(store.listObjectSizes())) seen.set(hash, (seen.get(hash) ?? 0) + 1);
    const { packs, indexes } = await store.listPacks();
    for (const pack of indexes) for (const hash of Object.keys((await store.readPackIndex(pack))!.objects)) seen.set(hash, (seen.get(hash) ?? 0) + 1);
    expect([...seen.values()].filter((n) => n > 1)).toEqual([]);
    expect([...packs.keys()].sort()).toEqual([...indexes].sort());
    const fsck = await flow(['fsck', '--remote'], { cwd: dir, env: envFor(loc) });
    expect(fsck.exitCode, fsck.stdout + fsck.stderr).toBe(0);
  });

  it(`push killed at ${KILLS} random moments: no remote record ever names a missing object, and the next push completes clean`, async () => {
    const base = await server.location();
    const dir = await projectWithRun(base);
    for (let round = 0; round < KILLS; round++) {
      const loc = await server.location(base.bucket);
      let stop = false;
      const violations: string[] = [];
      const checker = (async () => {
        while (!stop) {
          violations.push(...(await danglingReferences(loc)));
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      // Slow the server a little so the kill lands inside the upload.
      await server.faults({ delayMs: 5 });
      const push = execa(process.execPath, [BIN, 'push'], { cwd: dir, env: envFor(loc), reject: false });
      await new Promise((r) => setTimeout(r, 400 + Math.random() * 1500));
      push.kill('SIGKILL');
      await push;
      await server.faults({});
      const again = await flow(['push', '--json'], { cwd: dir, env: envFor(loc) });
      stop = true;
      await checker;
      expect(again.exitCode, again.stderr).toBe(0);
      expect(violations).toEqual([]);
      const fsck = await flow(['fsck', '--remote'], { cwd: dir, env: envFor(loc) });
      expect(fsck.exitCode, fsck.stdout + fsck.stderr).toBe(0);
    }
  });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
