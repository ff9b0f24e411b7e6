import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyFlow, flow, tempProject } from '../helpers/cli.js';
import { ALL_TASKS, pipelineProject, ran, runFlow } from './helpers.js';

const entryCount = (dir: string) => {
  const root = join(dir, '.flow', 'cache');
  return existsSync(root) ? readdirSync(root).reduce((n, k1) => n + readdirSync(join(root, k1)).length, 0) : 0;
};

describe('flow cache verify, flow cache clear, flow gc', () => {
  it('verify recomputes the cached tasks: a step that read the clock diverges and its entry is evicted; the others reproduce', { timeout: 240_000 }, async () => {
    const dir = await tempProject();
    const file = copyFlow(dir, 'repro-clock.ts');
    const first = await runFlow(dir, ['--cache'], {}, file);
    expect(ran(first)).toEqual(['end/0', 'start/0', 'work/0']);
    const second = await runFlow(dir, ['--cache'], {}, file);
    expect(ran(second)).toEqual([]);
    // The clock is outside the key: the hit says so.
    expect(second.stderr).toMatch(/step cache: work is reused from run-1\/work\/0, which read the clock when it ran/);

    const verify = await flow(['cache', 'verify', second.id, '--max-workers', '2'], { cwd: dir });
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(1);
    expect(verify.stdout).toMatch(/recomputed the 3 task\(s\) run-2 reused from the cache \(computed in run-1\)/);
    expect(verify.stdout).toMatch(/≠ work\/0 \(from run-1\/work\/0\): stamp diverged .*; entry evicted/);
    expect(verify.stdout).toMatch(/run-2: 1 of 3 cached task\(s\) did NOT reproduce; their entries were evicted/);
    // end carries work's stamp without reading it: checked on the inputs run-2 recorded, it reproduces.
    expect(verify.stdout).not.toMatch(/end\/0/);
    expect(verify.stderr).not.toMatch(/\n\s+at /);
    // The verify run is a replay of the cached tasks only: the others were taken as they are.
    const json = await flow(['cache', 'verify', first.id, '--json'], { cwd: dir });
    expect(json.exitCode, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ schema: 'flowrun.cache-verify/1', run: 'run-1', cached: [], evicted: [] });

    const third = await runFlow(dir, ['--cache'], {}, file);
    expect(ran(third)).toEqual(['work/0']);
    expect(third.cached['end/0']).toBe('run-1/end/0');
  });

  it("verify of tasks that reproduce exits 0; clear removes one step's entries, then all; gc drops the entries of the runs it deletes", { timeout: 240_000 }, async () => {
    const dir = await pipelineProject();
    await runFlow(dir, ['--cache', '--seed', '1']);
    const warm = await runFlow(dir, ['--cache', '--seed', '1', '--label', 'y']);
    expect(ran(warm)).toEqual(['report/0']);
    const verify = await flow(['cache', 'verify', warm.id, '-q'], { cwd: dir });
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout.trim().split('\n').at(-1)).toBe(`${warm.id}: every cached task reproduced (8 of 8, 39 artifacts)`);
    expect(entryCount(dir)).toBe(10);

    const clearStep = await flow(['cache', 'clear', '--step', 'transform'], { cwd: dir });
    expect(clearStep.exitCode, clearStep.stderr).toBe(0);
    expect(clearStep.stdout).toMatch(/removed 4 step cache entries \(step transform's\)/);
    expect(entryCount(dir)).toBe(6);
    const afterStep = await runFlow(dir, ['--cache', '--seed', '1']);
    expect(ran(afterStep)).toEqual(['transform/0', 'transform/1', 'transform/2', 'transform/3']);

    // gc keeping only the newest run drops every entry that names another run; the newest run's stay.
    const gc = await flow(['gc', '--keep-last', '1', '--grace-minutes', '0', '--json'], { cwd: dir });
    expect(gc.exitCode, gc.stderr).toBe(0);
    expect(JSON.parse(gc.stdout)).toMatchObject({ deletedRuns: ['run-3', 'run-2', 'run-1'], deletedCacheEntries: 6 });
    expect(entryCount(dir)).toBe(4);
    const afterGc = await runFlow(dir, ['--cache', '--seed', '1']);
    expect(ran(afterGc)).toEqual(ALL_TASKS.filter((t) => !t.startsWith('transform')));
    expect(afterGc.stderr).not.toContain('refused');
    const fsck = await flow(['fsck'], { cwd: dir });
    expect(fsck.exitCode, fsck.stdout).toBe(0);

    const clearAll = await flow(['cache', 'clear'], { cwd: dir });
    expect(clearAll.stdout).toMatch(/removed 9 step cache entries \(every\)/);
    expect(entryCount(dir)).toBe(0);
  });
});
