import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/client/client.js';
import { StoreReader } from '../../src/ui/reader.js';
import { runModel } from '../../src/ui/model/run.js';
import { taskModel } from '../../src/ui/model/task.js';
import { flow } from '../helpers/cli.js';
import { ALL_TASKS, edit, endArtifact, pipelineProject, ran, runFlow } from './helpers.js';

const get = endArtifact;

describe('step cache: flow run reruns only what changed', () => {
  it('reuses tasks whose code, reads and seed are unchanged: params, the seed, the last step, a helper module; replay proves a cache-heavy run', { timeout: 240_000 }, async () => {
    const dir = await pipelineProject();
    const cold = await runFlow(dir, ['--cache', '--seed', '1']);
    expect(ran(cold)).toEqual(ALL_TASKS);
    expect(cold.summary).toContain('(9 tasks, reused 0 of 9 tasks from cache)');

    const warm = await runFlow(dir, ['--cache', '--seed', '1']);
    expect(ran(warm)).toEqual([]);
    expect(warm.summary).toContain('reused 9 of 9 tasks from cache');
    expect(warm.cached['transform/2']).toBe(`${cold.id}/transform/2`);
    expect(warm.artifacts).toEqual(cold.artifacts);
    // A run made of reused tasks is the same run as far as flow diff goes; the diff says where its tasks came from.
    const diff = await flow(['diff', cold.id, warm.id], { cwd: dir });
    expect(diff.stdout).toContain(`cache        ${cold.id} reused 0 of 9 tasks; ${warm.id} reused 9 of 9 tasks (from ${cold.id})`);
    expect(diff.stdout).toMatch(/= run-1 and run-2 are the same/);

    // A param no step reads: every task is reused, and each carries the new value.
    const unused = await runFlow(dir, ['--cache', '--seed', '1', '--unused', '5']);
    expect(ran(unused)).toEqual([]);
    expect(await get(dir, unused.id, 'unused')).toBe(5);

    // A param only report reads: report reruns; end reads nothing, so it is reused with report's new text.
    const label = await runFlow(dir, ['--cache', '--seed', '1', '--label', 'y']);
    expect(ran(label)).toEqual(['report/0']);
    expect(await get(dir, label.id, 'text')).toBe('y=60');
    expect(label.artifacts['end/0']!.text).toBe(label.artifacts['report/0']!.text);

    // Another seed: only the step that calls Math.random reruns.
    const seeded = await runFlow(dir, ['--cache', '--seed', '2']);
    expect(ran(seeded)).toEqual(['jitter/0']);
    expect(seeded.artifacts['jitter/0']!.noise).not.toBe(cold.artifacts['jitter/0']!.noise);
    expect(seeded.artifacts['end/0']!.noise).toBe(seeded.artifacts['jitter/0']!.noise);

    // More splits: start reruns (it reads n); the four old splits are reused, the fifth runs; the join sees new inputs.
    const wider = await runFlow(dir, ['--cache', '--seed', '1', '--n', '5']);
    expect(ran(wider)).toEqual(['gather/0', 'report/0', 'start/0', 'transform/4']);
    expect(wider.cached['transform/3']).toBe(`${cold.id}/transform/3`);
    expect(await get(dir, wider.id, 'text')).toBe('x=100');

    // Editing only the last step reruns only it.
    edit(dir, 'flows/pipeline.ts', '@step end() {}', "@step end() { console.log('done'); }");
    const lastEdited = await runFlow(dir, ['--cache', '--seed', '1']);
    expect(ran(lastEdited)).toEqual(['end/0']);

    // Editing the helper module only transform imports: its splits rerun, then the steps whose inputs changed.
    edit(dir, 'flows/lib/scale.ts', 'x * 10', 'x * 100');
    const helper = await runFlow(dir, ['--cache', '--seed', '1']);
    expect(ran(helper)).toEqual(['gather/0', 'report/0', 'transform/0', 'transform/1', 'transform/2', 'transform/3']);
    expect(await get(dir, helper.id, 'text')).toBe('x=600');
    // An edit that computes the same values: transform reruns, and everything after it is reused.
    edit(dir, 'flows/lib/scale.ts', 'x * 100', '100 * x');
    const same = await runFlow(dir, ['--cache', '--seed', '1']);
    expect(ran(same)).toEqual(['transform/0', 'transform/1', 'transform/2', 'transform/3']);
    expect(same.artifacts).toEqual(helper.artifacts);

    // A replay computes every task again, cached ones included, and matches bit for bit.
    const replay = await flow(['replay', lastEdited.id, '--max-workers', '2'], { cwd: dir });
    expect(replay.exitCode, replay.stdout + replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(new RegExp(`reproduced ${lastEdited.id} bit for bit`));
    const inspected = await flow(['inspect', lastEdited.id], { cwd: dir });
    expect(inspected.stdout).toMatch(/cache\s+reused 8 of 9 tasks/);
    expect(inspected.stdout).toMatch(/transform\s+linear\s+4\s+4\s+0\s+4\s+4 \(from run-1\)/);
    // flow ui shows it too: the run page's step counts and the task page's origin.
    const reader = new StoreReader(openStore({ store: join(dir, '.flow') }));
    const run = await reader.open(lastEdited.id);
    const page = await runModel(reader, run);
    expect(page.dag.nodes.map((n) => [n.name, n.cached ?? 0])).toEqual([
      ['start', 1],
      ['transform', 4],
      ['gather', 1],
      ['jitter', 1],
      ['report', 1],
      ['end', 0],
    ]);
    expect((await taskModel(run, 'gather', '0', () => undefined)).record?.cachedFrom).toBe(`${cold.id}/gather/0`);

    // --no-cache runs everything, and files nothing.
    const forced = await runFlow(dir, ['--no-cache', '--seed', '1']);
    expect(ran(forced)).toEqual(ALL_TASKS);
    expect(forced.summary).not.toContain('from cache');
  });
});
