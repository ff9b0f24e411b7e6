import { CollectableS3Store } from '../../src/store/s3-gc.js';
import { existsSync, readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../../src/store/local.js';
import { collectGarbage } from '../../src/store/gc.js';
import { copyFlow, flow, tempDir, tempProject } from '../helpers/cli.js';
import { S3_TEST_ENV, startS3Server, type S3TestServer } from '../helpers/s3.js';

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => server?.stop());

function objectFiles(dir: string): string[] {
  const root = join(dir, '.flow/objects');
  return readdirSync(root).flatMap((shard) => readdirSync(join(root, shard)).map((n) => join(root, shard, n)));
}

async function project(): Promise<string> {
  const dir = await tempProject();
  copyFlow(dir, 'foreach-squares.ts');
  return dir;
}

describe('flow gc', () => {
  it('deletes unkept runs and their unreferenced objects; --dry-run deletes nothing; kept runs stay readable and fsck clean', async () => {
    const dir = await project();
    for (const n of ['5', '7']) expect((await flow(['run', 'flows/foreach-squares.ts', '--n', n, '-q'], { cwd: dir })).exitCode).toBe(0);
    const before = objectFiles(dir).length;

    const dry = await flow(['gc', '--keep-last', '1', '--grace-minutes', '0', '--dry-run', '--json'], { cwd: dir });
    expect(dry.exitCode, dry.stderr).toBe(0);
    const planned = JSON.parse(dry.stdout) as { deletedRuns: string[]; deletedObjects: number };
    expect(planned.deletedRuns).toEqual(['run-1']);
    expect(planned.deletedObjects).toBeGreaterThan(0);
    expect(objectFiles(dir).length).toBe(before);

    const real = await flow(['gc', '--keep-last', '1', '--grace-minutes', '0', '--json'], { cwd: dir });
    expect(real.exitCode, real.stderr).toBe(0);
    expect(JSON.parse(real.stdout)).toMatchObject({ deletedRuns: ['run-1'], deletedObjects: planned.deletedObjects });
    expect(objectFiles(dir).length).toBe(before - planned.deletedObjects);
    expect((await flow(['fsck'], { cwd: dir })).exitCode).toBe(0);
    expect((await flow(['get', 'run-2', 'total'], { cwd: dir })).stdout.trim()).toBe(String([0, 1, 2, 3, 4, 5, 6].reduce((a, x) => a + x * x, 0)));
    expect((await flow(['get', 'run-1', 'total'], { cwd: dir })).exitCode).toBe(2);
  });

  it('gc looping while a run is in progress deletes nothing that run needs, even objects it shares with a deleted old run', async () => {
    const dir = await project();
    // run-1 has one split more than run-2: its items, last square, squares, positions and total are objects
    // only it uses (gc must delete them whatever the timing), the other squares are shared with run-2.
    expect((await flow(['run', 'flows/foreach-squares.ts', '--n', '13', '-q'], { cwd: dir })).exitCode).toBe(0);
    // Age every object of run-1 past the grace period.
    const old = new Date(Date.now() - 3 * 3600_000);
    for (const f of objectFiles(dir)) utimesSync(f, old, old);
    // run-2 produces the same artifacts (dedup hits) while gc keeps deleting all but the newest run.
    const run = execa(process.execPath, [join(process.cwd(), 'bin/run.js'), 'run', 'flows/foreach-squares.ts', '--n', '12', '--sleep-ms', '500', '--max-workers', '2', '-q'], { cwd: dir, reject: false, env: { NO_COLOR: '1' } });
    // Start collecting once run-2 is under way (it has reused run-1's objects for its first tasks).
    const workDir = join(dir, '.flow/runs/run-2/tasks/work');
    while (run.exitCode === null && !(existsSync(workDir) && readdirSync(workDir).length > 0)) await new Promise((r) => setTimeout(r, 50));
    let rounds = 0;
    let deleted = 0;
    while (run.exitCode === null && rounds < 200) {
      const gc = await flow(['gc', '--keep-last', '1', '--json'], { cwd: dir });
      expect(gc.exitCode, gc.stderr).toBe(0);
      const report = JSON.parse(gc.stdout) as { deletedObjects: number; keptRuns: string[] };
      deleted += report.deletedObjects;
      expect(report.keptRuns).toContain('run-2');
      rounds++;
    }
    const result = await run;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(rounds).toBeGreaterThan(0); // at least one gc started while run-2 was running (the loop's condition)
    expect(deleted).toBeGreaterThan(0); // run-1 and the objects only it used went
    // The finished run-2 is complete: every object its records name is there.
    const fsck = await flow(['fsck', '--json'], { cwd: dir });
    expect(fsck.exitCode, fsck.stdout).toBe(0);
    expect((JSON.parse(fsck.stdout) as { runs: number }).runs).toBe(1);
    expect((await flow(['get', 'run-2', 'total'], { cwd: dir })).stdout.trim()).toBe(String([...Array(12).keys()].reduce((a, x) => a + x * x, 0)));
  });

  it('an old object stored again (a dedup hit of a task in flight, not yet named by any record) is protected by the grace period', async () => {
    const store = LocalStore.open(join(tempDir(), '.flow'));
    const hash = store.putObjectSync(Buffer.from('shared artifact'));
    const other = store.putObjectSync(Buffer.from('garbage'));
    const old = new Date(Date.now() - 3 * 3600_000);
    for (const h of [hash, other]) utimesSync(store.objectPath(h), old, old);
    store.putObjectSync(Buffer.from('shared artifact')); // a task of a run in progress stores the same bytes
    const report = await collectGarbage(store, { dryRun: false });
    expect(report).toMatchObject({ deletedObjects: 1, protectedRecent: 1 });
    expect(await store.hasObject(hash)).toBe(true);
    expect(await store.hasObject(other)).toBe(false);
  });

  it('on S3, an unreferenced object goes only when a second gc, a grace period later, still finds it unreferenced (a push in between can rely on it)', async () => {
    const store = await CollectableS3Store.open(await server.location());
    const kept = await store.putObject(Buffer.from('an old artifact a new push will reuse'));
    const dropped = await store.putObject(Buffer.from('truly garbage'));
    const later = (s: number) => new Date(Date.now() + s * 1000);
    const first = await collectGarbage(store, { dryRun: false, graceMs: 1000, now: later(5) });
    expect(first).toMatchObject({ deletedObjects: 0, awaitingSecondPass: 2 });
    // Meanwhile another machine pushes a run whose task names the old object (it found it present).
    // (Well-formed records: gc stops, deleting nothing, at a kept run's record it cannot read.)
    const empty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    await store.writeRecord('runs/run-1/tasks/start/0.json', { schema: 'flowrun.task/1', run: 'run-1', step: 'start', id: '0', stack: [], parents: [], status: 'ok', attempts: [], artifacts: { x: { hash: kept, size: 37 } }, logs: { stdout: empty, stderr: empty } });
    await store.writeRecord('runs/run-1/run.json', { schema: 'flowrun.run/1', id: 'run-1', flow: 'F', file: 'f.ts', status: 'ok', params: {}, seed: 1, tags: [], started: new Date().toISOString(), host: 'h', pid: 1, flowrunVersion: '0', node: process.version, steps: [{ name: 'start', type: 'end' }], git: null });
    const second = await collectGarbage(store, { dryRun: false, graceMs: 1000, now: later(10) });
    expect(second).toMatchObject({ deletedObjects: 1, awaitingSecondPass: 0 });
    expect(await store.hasObject(kept)).toBe(true);
    expect(await store.hasObject(dropped)).toBe(false);
  });

  it('gc --remote removes an unkept run from the mirror and leaves the rest complete', async () => {
    const dir = await project();
    const loc = await server.location();
    const env = { ...S3_TEST_ENV, FLOW_MIRROR_URL: `s3://${loc.bucket}/${loc.prefix}`, FLOW_S3_ENDPOINT: server.endpoint, FLOW_S3_FORCE_PATH_STYLE: 'true' };
    for (const n of ['4', '6']) expect((await flow(['run', 'flows/foreach-squares.ts', '--n', n, '-q'], { cwd: dir, env })).exitCode).toBe(0);
    const gc = await flow(['gc', '--remote', '--keep-last', '1', '--grace-minutes', '0', '--json'], { cwd: dir, env });
    expect(gc.exitCode, gc.stderr).toBe(0);
    expect(JSON.parse(gc.stdout)).toMatchObject({ deletedRuns: ['run-1'], keptRuns: ['run-2'] });
    const runs = JSON.parse((await flow(['runs', '--remote', '--json'], { cwd: dir, env })).stdout) as { runs: Array<{ id: string }> };
    expect(runs.runs.map((r) => r.id)).toEqual(['run-2']);
    const fsck = await flow(['fsck', '--remote'], { cwd: dir, env });
    expect(fsck.exitCode, fsck.stdout + fsck.stderr).toBe(0);
  });
});
