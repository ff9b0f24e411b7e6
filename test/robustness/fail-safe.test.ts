import { CollectableS3Store } from '../../src/store/s3-gc.js';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFlowError } from '../../src/errors/index.js';
import { collectGarbage } from '../../src/store/gc.js';
import { LocalStore } from '../../src/store/local.js';
import { S3Store } from '../../src/store/s3.js';
import { BIN, copyFlow, flow, tempDir, tempProject } from '../helpers/cli.js';
import { Forger } from '../helpers/forge.js';
import { S3_TEST_ENV, startS3Server, type S3TestServer } from '../helpers/s3.js';

// Issue #13, item 5: gc, replay and fsck fail safe, and a full disk is a clean, coded stop.

function objectFiles(dir: string): string[] {
  const root = join(dir, '.flow/objects');
  return readdirSync(root)
    .flatMap((shard) => readdirSync(join(root, shard)).map((n) => join(root, shard, n)))
    .sort();
}

async function projectWithRun(args: string[] = ['--n', '3']): Promise<string> {
  const dir = await tempProject();
  copyFlow(dir, 'foreach-squares.ts');
  const r = await flow(['run', 'flows/foreach-squares.ts', ...args, '-q'], { cwd: dir });
  expect(r.exitCode, r.stderr).toBe(0);
  return dir;
}

const errorOf = async (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('flow gc never deletes what a kept run may reference', () => {
  it('a kept run whose task record is truncated: gc stops (exit 3) naming the record, and deletes nothing', async () => {
    const dir = await projectWithRun();
    const record = join(dir, '.flow/runs/run-1/tasks/work/1.json');
    truncateSync(record, Math.floor(readFileSync(record).length / 2));
    const before = objectFiles(dir);
    const r = await flow(['gc', '--grace-minutes', '0'], { cwd: dir });
    expect(r.exitCode, r.stdout + r.stderr).toBe(3);
    expect(r.stderr).toContain('STORE_CORRUPT_RECORD');
    expect(r.stderr).toContain('runs/run-1/tasks/work/1.json');
    expect(r.stderr).toContain('gc deleted nothing');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(objectFiles(dir)).toEqual(before);
  });

  it('a kept run missing a task record its summary counts: gc stops with STORE_SUMMARY_MISMATCH and deletes nothing', async () => {
    const dir = await projectWithRun();
    rmSync(join(dir, '.flow/runs/run-1/tasks/work/2.json'));
    const before = objectFiles(dir);
    const e = await errorOf(collectGarbage(LocalStore.open(join(dir, '.flow')), { dryRun: false, graceMs: 0 }));
    expect(isFlowError(e) && { code: e.code, exit: e.exitCode }).toEqual({ code: 'STORE_SUMMARY_MISMATCH', exit: 3 });
    expect((e as Error).message).toMatch(/step work had 3 task\(s\).*records are 2/);
    expect(objectFiles(dir)).toEqual(before);
  });

  it('gc never follows a symlink out of the store: files an object shard or object file links to survive', async () => {
    const dir = await projectWithRun();
    const objects = objectFiles(dir);
    const outside = tempDir('gc-outside-');
    const victim = join(outside, 'a'.repeat(64));
    const temp = join(outside, '.tmp-precious');
    const linked = join(outside, 'linked-target');
    for (const f of [victim, temp, linked]) writeFileSync(f, 'precious');
    const old = new Date(Date.now() - 3 * 3600_000);
    for (const f of [victim, temp, linked]) utimesSync(f, old, old);
    symlinkSync(outside, join(dir, '.flow/objects/aa'));
    symlinkSync(linked, join(dir, '.flow/objects', readdirSync(join(dir, '.flow/objects')).find((s) => s !== 'aa')!, 'b'.repeat(64)));
    const report = await collectGarbage(LocalStore.open(join(dir, '.flow')), { dryRun: false, graceMs: 0 });
    expect([victim, temp, linked].filter((f) => !existsSync(f))).toEqual([]);
    expect(report.skippedSymlinks).toHaveLength(2);
    expect(objects.filter((f) => !existsSync(f))).toEqual([]);
  });

  it('a run directory that is a symlink out of the store is deleted as a link: the run record it points at survives', async () => {
    const dir = await projectWithRun();
    const outside = tempDir('gc-outside-run-');
    cpSync(join(dir, '.flow/runs/run-1'), join(outside, 'run-0'), { recursive: true });
    const record = join(outside, 'run-0/run.json');
    writeFileSync(record, readFileSync(record, 'utf8').replace('"id":"run-1"', '"id":"run-0"'));
    symlinkSync(join(outside, 'run-0'), join(dir, '.flow/runs/run-0'));
    const report = await collectGarbage(LocalStore.open(join(dir, '.flow')), { dryRun: false, keepLast: 1, graceMs: 0 });
    expect(report.deletedRuns).toEqual(['run-0']);
    expect(existsSync(join(dir, '.flow/runs/run-0'))).toBe(false);
    expect(existsSync(record)).toBe(true);
  });
});

describe('flow gc --remote never deletes what a kept run may reference', () => {
  let server: S3TestServer;
  beforeAll(async () => {
    server = await startS3Server();
  });
  afterAll(async () => server?.stop());

  it('a kept run with a forged task record on the mirror: gc stops naming the key, and deletes nothing', async () => {
    const loc = await server.location();
    const dir = await tempProject();
    copyFlow(dir, 'foreach-squares.ts');
    const env = { ...S3_TEST_ENV, FLOW_MIRROR_URL: `s3://${loc.bucket}/${loc.prefix}`, FLOW_S3_ENDPOINT: server.endpoint, FLOW_S3_FORCE_PATH_STYLE: 'true' };
    expect((await flow(['run', 'flows/foreach-squares.ts', '--n', '3', '-q'], { cwd: dir, env })).exitCode).toBe(0);
    const f = new Forger(new S3Store(loc));
    const bundle = await f.getJson<{ v: 1; records: Record<string, { run: string }> }>('runs/run-1/tasks.bundle.json');
    bundle.records['work/1.json']!.run = 'run-7';
    await f.put('runs/run-1/tasks.bundle.json', bundle);
    const before = await f.keys();
    const e = await errorOf(collectGarbage(new CollectableS3Store(loc), { dryRun: false, graceMs: 0 }));
    expect(isFlowError(e) && e.code).toBe('STORE_CORRUPT_RECORD');
    expect((e as Error).message).toContain('tasks.bundle.json');
    expect((e as Error).message).toContain('gc deleted nothing');
    expect(await f.keys()).toEqual(before);
  });
});

describe('flow replay fails safe', () => {
  it('a run whose task records are missing: exit 3 before anything runs, never "reproduced 0 of 0"', async () => {
    const dir = await projectWithRun();
    rmSync(join(dir, '.flow/runs/run-1/tasks'), { recursive: true });
    const r = await flow(['replay', 'run-1'], { cwd: dir });
    expect(r.exitCode, r.stdout + r.stderr).toBe(3);
    expect(r.stderr).toContain('REPLAY_ORIGIN_INCOMPLETE');
    expect(r.stdout).not.toContain('reproduced');
    expect(existsSync(join(dir, '.flow/runs/run-2'))).toBe(false);
  });

  it('an origin deleted while the replay runs: exit 3 (REPLAY_ORIGIN_DELETED), never "reproduced 0 of 0"', async () => {
    const dir = await projectWithRun(['--n', '4', '--sleep-ms', '700', '--max-workers', '1']);
    const replay = execa(process.execPath, [BIN, 'replay', 'run-1', '--max-workers', '1'], { cwd: dir, reject: false, env: { NO_COLOR: '1' } });
    const started = join(dir, '.flow/runs/run-2/tasks/work');
    while (replay.exitCode === null && !existsSync(started)) await new Promise((res) => setTimeout(res, 50));
    rmSync(join(dir, '.flow/runs/run-1'), { recursive: true, force: true });
    const r = await replay;
    expect(r.exitCode, `${r.stdout}${r.stderr}`).toBe(3);
    expect(r.stderr).toContain('REPLAY_ORIGIN_DELETED');
    expect(r.stdout).not.toContain('reproduced');
  });
});

describe('flow fsck checks run summaries against task records', () => {
  it('a finished run missing a task record: exit 3, STORE_SUMMARY_MISMATCH naming the run and step', async () => {
    const dir = await projectWithRun();
    expect((await flow(['fsck'], { cwd: dir })).exitCode).toBe(0);
    rmSync(join(dir, '.flow/runs/run-1/tasks/work/0.json'));
    const r = await flow(['fsck', '--json'], { cwd: dir });
    expect(r.exitCode, r.stdout).toBe(3);
    const report = JSON.parse(r.stdout) as { problems: Array<{ code: string; subject: string; message: string }> };
    expect(report.problems).toEqual([expect.objectContaining({ code: 'STORE_SUMMARY_MISMATCH', subject: 'runs/run-1/run.json', message: expect.stringMatching(/step work had 3 task/) })]);
  });
});

describe('a full disk while storing logs', () => {
  /** A 1 MiB tmpfs with `freeKiB` left: the store lives there. Undefined when mount is not possible. */
  function smallDisk(freeKiB: number): string | undefined {
    const mnt = tempDir('disk-full-');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (e) {
      if (process.env.CI === 'true') throw new Error(`mounting a tmpfs failed under CI (the disk-full tests need root or CAP_SYS_ADMIN): ${(e as Error).message}`);
      return undefined;
    }
    process.once('exit', () => {
      try {
        execFileSync('umount', ['-l', mnt]);
      } catch {
        /* gone */
      }
    });
    const { bavail, bsize } = statfsSync(mnt);
    writeFileSync(join(mnt, 'filler'), Buffer.alloc(bavail * bsize - freeKiB * 1024));
    return mnt;
  }
  const unmount = (mnt: string) => {
    try {
      execFileSync('umount', ['-l', mnt]);
    } catch {
      /* already */
    }
  };

  /** A flow whose step `loudStep` prints ~600 KB of incompressible text (more than the disk has left). */
  async function loudProject(loudStep: 'start' | 'second'): Promise<string> {
    return tempProject({
      'flows/loud.ts': `import { randomBytes } from 'node:crypto';
import { FlowSpec, step } from 'flowrun';
export default class LoudFlow extends FlowSpec {
  x!: number;
  @step start() { ${loudStep === 'start' ? 'this.shout(); ' : ''}this.x = 1; this.next(this.second); }
  @step second() { ${loudStep === 'second' ? 'this.shout(); ' : ''}this.next(this.end); }
  @step end() {}
  private shout() { for (let i = 0; i < 800; i++) console.log(randomBytes(576).toString('base64')); }
}
`,
    });
  }

  it.for([
    ['nothing ran: no run directory is left and the fix says to run again', 'start'],
    ['after a task was recorded: the run is kept and the fix says to resume it', 'second'],
  ] as const)('%s; STORE_DISK_FULL, exit 3, no stack trace', async ([, loudStep], ctx) => {
    const dir = await loudProject(loudStep);
    const mnt = smallDisk(128);
    if (!mnt) return ctx.skip('cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN); under CI=true this fails instead');
    try {
      const store = join(mnt, 'store');
      mkdirSync(store);
      const r = await flow(['run', 'flows/loud.ts', '-q'], { cwd: dir, env: { FLOW_STORE: store } });
      expect(r.exitCode, r.stderr.slice(-2000)).toBe(3);
      const errors = r.stderr.split('\n').filter((l) => !l.startsWith('[run-1/'));
      expect(errors.join('\n')).toContain('STORE_DISK_FULL');
      expect(errors.join('\n')).not.toMatch(/\n\s+at |Internal error/);
      const empty = (d: string): string[] =>
        readdirSync(d, { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .flatMap((e) => {
            const p = join(d, e.name);
            return readdirSync(p).length === 0 ? [p] : empty(p);
          });
      expect(empty(join(store, 'objects')).concat(existsSync(join(store, 'runs')) ? empty(join(store, 'runs')) : [])).toEqual([]);
      if (loudStep === 'start') {
        expect(existsSync(join(store, 'runs/run-1'))).toBe(false);
        expect(errors.join('\n')).not.toContain('resume');
        expect(errors.join('\n')).toContain('run the flow again');
      } else {
        expect(existsSync(join(store, 'runs/run-1/tasks/start/0.json'))).toBe(true);
        expect(errors.join('\n')).toContain('flow resume flows/loud.ts --origin run-1');
      }
      // Whatever was kept is consistent.
      const fsck = await flow(['fsck'], { cwd: dir, env: { FLOW_STORE: store } });
      expect(fsck.exitCode, fsck.stdout).toBe(0);
    } finally {
      unmount(mnt);
    }
  });
});
