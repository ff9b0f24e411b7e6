import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyFlow, flow, tempDir, tempProject } from '../helpers/cli.js';

const runId = (stdout: string) => stdout.split('\n')[0]!.trim();
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
interface Include {
  path: string;
  hash: string;
  size: number;
  binary: boolean;
}
const record = (dir: string, id: string) => JSON.parse(readFileSync(join(dir, '.flow/runs', id, 'run.json'), 'utf8')) as { params: Record<string, unknown>; includes?: Record<string, Include> };

describe('@includeFile', () => {
  it('pins the file content by hash; replay uses the stored content after the file changed or vanished; diff shows the change', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'include-data.ts');
    const outside = join(tempDir(), 'rows.txt');
    writeFileSync(outside, 'a\nb\nc\n');
    const run = await flow(['run', 'flows/include-data.ts', '--data', outside, '--raw', outside, '-q'], { cwd: dir });
    expect(run.exitCode, run.stderr).toBe(0);
    const id = runId(run.stdout);
    const rec = record(dir, id);
    expect(rec.params.data).toBe(outside);
    expect(rec.includes?.data).toEqual({ path: outside, hash: sha('a\nb\nc\n'), size: 6, binary: false });
    expect(rec.includes?.raw).toMatchObject({ hash: sha('a\nb\nc\n'), binary: true });
    expect((await flow(['get', id, 'rows', '--json'], { cwd: dir })).stdout).toContain('"c"');
    expect(JSON.parse((await flow(['get', id, 'isBuffer', '--json'], { cwd: dir })).stdout)).toMatchObject({ value: true });

    // The file changes after the run: replay still reads the stored content.
    writeFileSync(outside, 'x\ny\n');
    const replay = await flow(['replay', id], { cwd: dir });
    expect(replay.exitCode, replay.stdout + replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/reproduced run-1 bit for bit/);
    rmSync(outside);
    expect((await flow(['replay', id, '-q'], { cwd: dir })).exitCode).toBe(0);

    // A new run on the changed file (same path): flow diff reports the input's content change.
    writeFileSync(outside, 'x\ny\n');
    const second = await flow(['run', 'flows/include-data.ts', '--data', outside, '--raw', outside, '-q'], { cwd: dir });
    expect(second.exitCode, second.stderr).toBe(0);
    const diff = await flow(['diff', id, runId(second.stdout)], { cwd: dir });
    expect(diff.stdout).toMatch(/params\s+identical/);
    expect(diff.stdout).toMatch(/inputs\s+included file content changed/);
    expect(diff.stdout).toContain(`~ data (${outside}): ${sha('a\nb\nc\n').slice(0, 12)} → ${sha('x\ny\n').slice(0, 12)}, 6 B → 4 B`);
    expect(diff.stdout).toMatch(/start\/0 rows/);
    const json = JSON.parse((await flow(['diff', id, runId(second.stdout), '--json'], { cwd: dir })).stdout) as { differs: string[]; inputs: Array<{ name: string }> };
    expect(json.differs).toContain('inputs');
    expect(json.inputs.map((i) => i.name)).toEqual(['data', 'raw']);
  });

  it('a missing input file is a usage error naming the parameter and path, before a run id is allocated (exit 2)', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'include-data.ts');
    const r = await flow(['run', 'flows/include-data.ts', '--data', 'nope.csv'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('PARAM_FILE_NOT_FOUND');
    expect(r.stderr).toContain(join(dir, 'nope.csv'));
    expect(r.stderr).toContain('--data');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
    const show = await flow(['show', 'flows/include-data.ts'], { cwd: dir });
    expect(show.stdout).toMatch(/--data\s+file\s+"data.txt"\s+rows, one per line/);
    expect(show.stdout).toMatch(/--raw\s+file \(binary\)/);
  });

  it('replay of a run whose included content is gone from the store fails with REPLAY_SNAPSHOT_MISSING (exit 3)', async () => {
    const dir = await tempProject({ 'data.txt': 'one\n' });
    copyFlow(dir, 'include-data.ts');
    const run = await flow(['run', 'flows/include-data.ts', '-q'], { cwd: dir });
    expect(run.exitCode, run.stderr).toBe(0);
    const hash = record(dir, runId(run.stdout)).includes!.data!.hash;
    rmSync(join(dir, '.flow/objects', hash.slice(0, 2), hash), { force: true });
    const replay = await flow(['replay', runId(run.stdout)], { cwd: dir });
    expect(replay.exitCode).toBe(3);
    expect(replay.stderr).toContain('REPLAY_SNAPSHOT_MISSING');
    expect(replay.stderr).toContain('included file data');
    const fsck = await flow(['fsck'], { cwd: dir });
    expect(fsck.exitCode).toBe(3);
    expect(fsck.stdout + fsck.stderr).toContain('included file data');
  });
});
