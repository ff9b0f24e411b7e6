import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FsckReport } from '../../src/store/fsck.js';
import type { TaskRecord } from '../../src/metadata/records.js';
import { type CliResult, copyFlow, flow, tempProject } from '../helpers/cli.js';

// A damaged store is found and named, never silently read: `flow get` verifies what it reads
// (exit 3), `flow fsck` lists every problem with its code (exit 3), and a store from a newer
// flowrun is refused.

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

function runIdOf(r: CliResult): string {
  const id = r.stdout.split('\n')[0]!;
  expect(id, r.stdout + r.stderr).toMatch(/^run-\d+$/);
  return id;
}

/** A project with one finished run of the linear flow. */
async function projectWithRun(): Promise<{ dir: string; run: string }> {
  const dir = await tempProject();
  copyFlow(dir, 'linear.ts');
  const r = await flow(['run', 'flows/linear.ts', '--max-workers', '2', '--quiet'], { cwd: dir });
  expect(r.exitCode, r.stderr).toBe(0);
  return { dir, run: runIdOf(r) };
}

const taskRecordPath = (dir: string, run: string, step: string, id: string) => join(dir, '.flow/runs', run, 'tasks', step, `${id}.json`);
const objectPath = (dir: string, hash: string) => join(dir, '.flow/objects', hash.slice(0, 2), hash);

/** The object holding an artifact of a task. */
function artifactObject(dir: string, run: string, step: string, name: string): { hash: string; path: string } {
  const hash = readJson<TaskRecord>(taskRecordPath(dir, run, step, '0')).artifacts[name]!.hash;
  return { hash, path: objectPath(dir, hash) };
}

async function fsckJson(dir: string): Promise<{ exitCode: number; report: FsckReport }> {
  const r = await flow(['fsck', '--json'], { cwd: dir });
  return { exitCode: r.exitCode, report: JSON.parse(r.stdout) as FsckReport };
}

describe('store corruption', () => {
  it('a flipped byte in an artifact object: flow get exits 3 naming the object; fsck exits 3 with STORE_CORRUPT_OBJECT', async () => {
    const { dir, run } = await projectWithRun();
    const { hash, path } = artifactObject(dir, run, 'describe', 'result');
    expect(statSync(path).mode & 0o777).toBe(0o444); // objects are written read-only
    chmodSync(path, 0o644);
    const bytes = readFileSync(path);
    const at = bytes.length - 2;
    bytes[at] = bytes[at]! ^ 0x01;
    writeFileSync(path, bytes);

    const [get, getJson, fsck, fsckOut, other] = await Promise.all([flow(['get', run, 'result'], { cwd: dir }), flow(['get', run, 'result', '--json'], { cwd: dir }), flow(['fsck'], { cwd: dir }), fsckJson(dir), flow(['get', run, 'doubled'], { cwd: dir })]);
    expect(get.exitCode).toBe(3);
    expect(get.stderr).toMatch(/STORE_CORRUPT_OBJECT/);
    expect(get.stderr).toContain(hash);
    expect(get.stderr).toMatch(/flow fsck/);
    expect(get.stderr).not.toMatch(/^\s+at /m);
    expect(getJson.exitCode).toBe(3);
    expect((JSON.parse(getJson.stdout) as { error: { code: string } }).error.code).toBe('STORE_CORRUPT_OBJECT');
    expect(get.stdout).not.toContain('linear'); // the damaged value is never printed

    expect(fsck.exitCode).toBe(3);
    expect(fsck.stdout).toContain(`STORE_CORRUPT_OBJECT ${hash}`);
    expect(fsckOut.exitCode).toBe(3);
    const problem = fsckOut.report.problems.find((p) => p.subject === hash);
    expect(problem).toMatchObject({ code: 'STORE_CORRUPT_OBJECT' });
    expect(problem!.referrers).toEqual(expect.arrayContaining([`${run}/describe/0 result`, `${run}/end/0 result`]));
    expect(fsckOut.report.problems).toHaveLength(1);
    // Artifacts in other objects still read.
    expect(other.exitCode, other.stderr).toBe(0);
    expect(other.stdout.trim()).toBe('42');
  });

  it('a truncated task record: fsck exits 3 with STORE_CORRUPT_RECORD naming the file; reading it exits 3', async () => {
    const { dir, run } = await projectWithRun();
    const path = taskRecordPath(dir, run, 'double', '0');
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.slice(0, Math.floor(text.length / 2)));

    const [fsck, get] = await Promise.all([fsckJson(dir), flow(['get', `${run}/double/0`, 'doubled'], { cwd: dir })]);
    expect(fsck.exitCode).toBe(3);
    expect(fsck.report.problems).toEqual([expect.objectContaining({ code: 'STORE_CORRUPT_RECORD', subject: `runs/${run}/tasks/double/0.json` })]);
    expect(get.exitCode).toBe(3);
    expect(get.stderr).toMatch(/STORE_CORRUPT_RECORD.*double\/0\.json/);
    expect(get.stderr).not.toMatch(/^\s+at /m);
  });

  it('a deleted object: fsck exits 3 with STORE_MISSING_OBJECT and its referrers; flow get exits 3', async () => {
    const { dir, run } = await projectWithRun();
    const { hash, path } = artifactObject(dir, run, 'double', 'doubled');
    rmSync(path);

    const [fsck, fsckText, get] = await Promise.all([fsckJson(dir), flow(['fsck'], { cwd: dir }), flow(['get', run, 'doubled'], { cwd: dir })]);
    expect(fsck.exitCode).toBe(3);
    expect(fsck.report.problems).toHaveLength(1);
    expect(fsck.report.problems[0]).toMatchObject({ code: 'STORE_MISSING_OBJECT', subject: hash });
    expect(fsck.report.problems[0]!.referrers).toEqual(expect.arrayContaining([`${run}/double/0 doubled`]));
    expect(fsckText.exitCode).toBe(3);
    expect(fsckText.stdout).toContain(`STORE_MISSING_OBJECT ${hash}`);
    expect(get.exitCode).toBe(3);
    expect(get.stderr).toMatch(/STORE_MISSING_OBJECT/);
    expect(get.stderr).toContain(hash);
  });

  it('a leftover temp file from an interrupted write is reported but is not damage (fsck exits 0)', async () => {
    // DESIGN §5: a run killed at any moment (even mid-write) leaves a store that fsck passes;
    // a temp file is never read as an object and changes no record.
    const { dir, run } = await projectWithRun();
    const shard = join(dir, '.flow/objects/ab');
    mkdirSync(shard, { recursive: true });
    writeFileSync(join(shard, '.tmp-0123456789abcdef'), 'partial bytes of an object that was being written');

    const [fsck, text, get] = await Promise.all([fsckJson(dir), flow(['fsck'], { cwd: dir }), flow(['get', run, 'doubled'], { cwd: dir })]);
    expect(text.stdout + text.stderr).toContain('.tmp-0123456789abcdef');
    expect(fsck.report.problems.filter((p) => p.code !== 'STORE_LEFTOVER_TEMP')).toEqual([]);
    expect(fsck.exitCode, text.stdout).toBe(0);
    expect(text.exitCode).toBe(0);
    expect(get.exitCode, get.stderr).toBe(0);
  });

  it('a store written by a newer format version is refused with STORE_VERSION_UNSUPPORTED (exit 3)', async () => {
    const { dir, run } = await projectWithRun();
    const format = join(dir, '.flow/FORMAT');
    expect(readJson<{ format: string; version: number }>(format)).toEqual({ format: 'flowrun-store', version: 1 });
    chmodSync(format, 0o644);
    writeFileSync(format, JSON.stringify({ format: 'flowrun-store', version: 99 }));

    const [fsck, get, runAgain, runs] = await Promise.all([flow(['fsck'], { cwd: dir }), flow(['get', run, 'doubled'], { cwd: dir }), flow(['run', 'flows/linear.ts', '--max-workers', '2'], { cwd: dir }), flow(['runs'], { cwd: dir })]);
    for (const r of [fsck, get, runAgain, runs]) {
      expect(r.exitCode, r.stdout + r.stderr).toBe(3);
      expect(r.stderr).toMatch(/STORE_VERSION_UNSUPPORTED.*99/);
      expect(r.stderr).toMatch(/Upgrade flowrun/);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    }
    expect(runAgain.stdout).not.toMatch(/run-\d+/); // nothing was started in the newer store
    // The newer store was left as it was.
    expect(readJson<{ version: number }>(format).version).toBe(99);
  });
});
