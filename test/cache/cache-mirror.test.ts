import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, Run } from '../../src/client/client.js';
import type { CacheBundle } from '../../src/cache/remote.js';
import { S3Store } from '../../src/store/s3.js';
import type { S3Location } from '../../src/store/s3-location.js';
import type { RunRecord } from '../../src/metadata/records.js';
import { flow } from '../helpers/cli.js';
import { S3_TEST_ENV, startS3Server, type S3TestServer } from '../helpers/s3.js';
import { ALL_TASKS, pipelineProject, ran, runFlow } from './helpers.js';

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => server?.stop());

const mirrorEnv = (loc: S3Location) => ({ ...S3_TEST_ENV, FLOW_MIRROR_URL: `s3://${loc.bucket}/${loc.prefix}`, FLOW_S3_ENDPOINT: server.endpoint, FLOW_S3_FORCE_PATH_STYLE: 'true' });

async function runRecord(dir: string, id: string): Promise<RunRecord> {
  return (await Run.open(openStore({ store: join(dir, '.flow') }), id)).record;
}

/** Step name → its step key (k0), from the cache keys a run recorded. */
async function stepKeys(dir: string, id: string): Promise<Record<string, string>> {
  const run = await Run.open(openStore({ store: join(dir, '.flow') }), id);
  const out: Record<string, string> = {};
  for (const step of run.steps()) out[step.name] = (await step.tasks())[0]!.record.cache!.k0;
  return out;
}

describe('step cache through the mirror', () => {
  it("a second machine reuses the first machine's tasks through the mirror (at most 2 lookup requests per step), objects verified; then locally", { timeout: 240_000 }, async () => {
    const loc = await server.location();
    const env = mirrorEnv(loc);
    const a = await pipelineProject();
    const b = await pipelineProject();
    const first = await runFlow(a, ['--cache', '--seed', '1'], env);
    expect(ran(first)).toEqual(ALL_TASKS);
    expect(first.stderr).toMatch(/step cache entries pushed \(6 steps\)/);

    const second = await runFlow(b, ['--cache', '--seed', '1'], env);
    expect(ran(second)).toEqual([]);
    expect(second.cached['transform/3']).toBe(`${first.id}/transform/3`);
    expect(second.artifacts).toEqual(first.artifacts);
    const rec = await runRecord(b, second.id);
    expect(rec.cache).toMatchObject({ lookups: 9, local: 0, remote: 9 });
    // Lookups: one listing and one bundle read per step (6 steps), whatever the number of tasks.
    expect(rec.cache!.mirrorRequests).toBeLessThanOrEqual(2 * 6);

    // The objects are local now (verified on the way in): the values read, fsck is clean, and the next run is all local.
    expect(await (await Run.open(openStore({ store: join(b, '.flow') }), second.id)).artifact('text')).toBe('x=60');
    const fsck = await flow(['fsck'], { cwd: b, env });
    expect(fsck.exitCode, fsck.stdout + fsck.stderr).toBe(0);
    const third = await runFlow(b, ['--cache', '--seed', '1'], env);
    expect(ran(third)).toEqual([]);
    expect(await runRecord(b, third.id)).toMatchObject({ cache: { local: 9, remote: 0, mirrorRequests: 0 } });
    const remoteFsck = await flow(['fsck', '--remote'], { cwd: a, env });
    expect(remoteFsck.exitCode, remoteFsck.stdout + remoteFsck.stderr).toBe(0);
  });

  it('forged or corrupt bundles on the mirror are a miss and a warning, never a wrong hit', { timeout: 240_000 }, async () => {
    const loc = await server.location();
    const env = mirrorEnv(loc);
    const a = await pipelineProject();
    const first = await runFlow(a, ['--cache', '--seed', '1'], env);
    const keys = await stepKeys(a, first.id);
    const remote = await S3Store.open(loc);
    const bundleOf = async (step: string) => (await remote.readJson(`cache/${keys[step]}/${first.id}.json`, 1 << 20)) as CacheBundle;
    // report: its text points at another object of the mirror (label's), the entry otherwise consistent.
    const report = await bundleOf('report');
    report.entries[0]!.outputs.text = { hash: first.artifacts['report/0']!.label!, size: 17 };
    await remote.writeRecord(`cache/${keys.report}/${first.id}.json`, report);
    // gather: the bundle is not JSON.
    await remote.client.send(new PutObjectCommand({ Bucket: loc.bucket, Key: `${loc.prefix}cache/${keys.gather}/${first.id}.json`, Body: '{"v":1,"entr' }));
    // start: an entry naming an output __proto__.
    const start = await bundleOf('start');
    // biome-ignore lint/complexity/useLiteralKeys: spelled as the computed key a hostile record carries.
    (start.entries[0]!.outputs as Record<string, unknown>)['__proto__'] = { hash: '0'.repeat(64), size: 1 };
    await remote.client.send(new PutObjectCommand({ Bucket: loc.bucket, Key: `${loc.prefix}cache/${keys.start}/${first.id}.json`, Body: JSON.stringify(start).replace('"outputs":{', `"outputs":{"__proto__":{"hash":"${'0'.repeat(64)}","size":1},`) }));
    // jitter: a newer bundle (a later run id) whose entry names an object the mirror does not have.
    const jitter = await bundleOf('jitter');
    jitter.run = 'run-999';
    jitter.entries[0]!.outputs.noise = { hash: 'f'.repeat(64), size: 18 };
    jitter.entries[0]!.run = 'run-999';
    await remote.writeRecord(`cache/${keys.jitter}/run-999.json`, jitter);

    const c = await pipelineProject();
    const second = await runFlow(c, ['--cache', '--seed', '1'], env);
    expect(ran(second)).toEqual(['gather/0', 'jitter/0', 'report/0', 'start/0']);
    expect(second.stderr).toMatch(/its artifact text is not the one the mirror's run-1\/report\/0 recorded/);
    expect(second.stderr).toMatch(/the mirror's bundle is refused \(.*not valid JSON/);
    expect(second.stderr).toMatch(/1 entry of the mirror's bundle .* refused \(it names an output __proto__/);
    expect(second.stderr).toMatch(/no task record run-999\/jitter\/0/);
    expect(second.stderr).not.toMatch(/\n\s+at /);
    expect(second.artifacts).toEqual(first.artifacts);
    expect(await (await Run.open(openStore({ store: join(c, '.flow') }), second.id)).artifact('text')).toBe('x=60');
  });

  it("clear --remote --step and gc --remote remove the mirror's entries: the next machine runs those tasks, without warnings", { timeout: 240_000 }, async () => {
    const loc = await server.location();
    const env = mirrorEnv(loc);
    const a = await pipelineProject();
    const first = await runFlow(a, ['--cache', '--seed', '1'], env);
    expect(ran(first)).toEqual(ALL_TASKS);
    const clear = await flow(['cache', 'clear', '--remote', '--step', 'report'], { cwd: a, env });
    expect(clear.exitCode, clear.stderr).toBe(0);
    expect(clear.stdout).toMatch(/s3:\/\/.*: removed 1 step cache entry \(step report's\)/);
    const b = await runFlow(await pipelineProject(), ['--cache', '--seed', '1'], env);
    expect(ran(b)).toEqual(['report/0']);

    const gc = await flow(['gc', '--remote', '--keep-last', '0', '--grace-minutes', '0', '--json'], { cwd: a, env });
    expect(gc.exitCode, gc.stderr).toBe(0);
    expect(JSON.parse(gc.stdout)).toMatchObject({ deletedRuns: ['run-2', 'run-1'] });
    expect((JSON.parse(gc.stdout) as { deletedCacheEntries: number }).deletedCacheEntries).toBeGreaterThan(0);
    const c = await runFlow(await pipelineProject(), ['--cache', '--seed', '1'], env);
    expect(ran(c)).toEqual(ALL_TASKS);
    expect(c.stderr).not.toContain('warning');
  });
});
