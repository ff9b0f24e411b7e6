import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CacheEntry } from '../../src/cache/entry.js';
import { copyFlow, flow, tempProject } from '../helpers/cli.js';
import { ALL_TASKS, endArtifact, pipelineProject, ran, runFlow } from './helpers.js';

/** Every local entry file of a project: step/task → its path. */
function entries(dir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const root = join(dir, '.flow', 'cache');
  for (const k1 of readdirSync(root)) {
    for (const file of readdirSync(join(root, k1))) {
      const path = join(root, k1, file);
      const e = JSON.parse(readFileSync(path, 'utf8')) as CacheEntry;
      out.set(`${e.step}/${e.task}`, [...(out.get(`${e.step}/${e.task}`) ?? []), path]);
    }
  }
  return out;
}

const objectPath = (dir: string, hash: string) => join(dir, '.flow', 'objects', hash.slice(0, 2), hash);

describe('step cache: bad entries are a miss and a warning, never a wrong hit', () => {
  it('a corrupt entry, a forged output, forged reads and a deleted object each make that task run (with a warning); the rest is reused', { timeout: 180_000 }, async () => {
    const dir = await pipelineProject();
    const cold = await runFlow(dir, ['--cache', '--seed', '1']);
    const files = entries(dir);
    expect([...files.keys()].sort()).toEqual(ALL_TASKS);
    expect([...files.values()].every((f) => f.length === 1)).toBe(true);

    // Corrupt: not JSON any more.
    writeFileSync(files.get('start/0')![0]!, '{"schema": "flowrun.cache-ent');
    // Forged output: report's text points at another object (label's), reads and keys untouched.
    const report = JSON.parse(readFileSync(files.get('report/0')![0]!, 'utf8')) as CacheEntry;
    report.outputs.text = { hash: cold.artifacts['report/0']!.label!, size: 17 };
    writeFileSync(files.get('report/0')![0]!, JSON.stringify(report));
    // Forged reads: gather's first read claims another hash, without a matching read key.
    const gather = JSON.parse(readFileSync(files.get('gather/0')![0]!, 'utf8')) as CacheEntry;
    gather.reads[0]![1] = '0'.repeat(64);
    writeFileSync(files.get('gather/0')![0]!, JSON.stringify(gather));
    // An object the jitter entry names is gone (as if collected).
    rmSync(objectPath(dir, cold.artifacts['jitter/0']!.noise!));

    const again = await runFlow(dir, ['--cache', '--seed', '1']);
    expect(ran(again)).toEqual(['gather/0', 'jitter/0', 'report/0', 'start/0']);
    expect(again.stderr).toMatch(/step cache: the entry cache\/[0-9a-f]{64}\/[0-9a-f]{64}\.json is refused \(Record .* is corrupt \(not valid JSON\)\.\)/);
    expect(again.stderr).toMatch(/is refused \(its artifact text is not the one run-1\/report\/0 recorded\)/);
    expect(again.stderr).toMatch(/is refused \(its read key \(k2\) is not the hash of its reads\)/);
    expect(again.stderr).toMatch(/is refused \(its artifact noise \(object [0-9a-f]{64}\) is missing from the store\)/);
    expect(again.stderr).not.toMatch(/Error:|\n\s+at /);
    // The values are right, and the same as the cold run's.
    expect(again.artifacts).toEqual(cold.artifacts);
    expect(await endArtifact(dir, again.id, 'text')).toBe('x=60');
    // Refused entries were removed and filled again by the tasks that ran: the next run reuses everything.
    const third = await runFlow(dir, ['--cache', '--seed', '1']);
    expect(ran(third)).toEqual([]);
    expect(third.stderr).not.toContain('refused');
  });

  it('two runs filling the same keys at once store one entry per key, and a third run reuses it', { timeout: 180_000 }, async () => {
    const dir = await pipelineProject();
    const both = await Promise.all([0, 1].map(() => flow(['run', 'flows/pipeline.ts', '--cache', '--seed', '1', '--max-workers', '1', '-q'], { cwd: dir })));
    for (const r of both) expect(r.exitCode, r.stderr).toBe(0);
    const files = entries(dir);
    expect([...files.keys()].sort()).toEqual(ALL_TASKS);
    expect([...files.values()].map((f) => f.length)).toEqual(ALL_TASKS.map(() => 1));
    const third = await runFlow(dir, ['--cache', '--seed', '1']);
    expect(ran(third)).toEqual([]);
  });

  it("a step reading an @includeFile input reruns when the file's content changes (same path), and is reused while it does not", { timeout: 180_000 }, async () => {
    const dir = await tempProject({ 'data.txt': 'a\nb\n' });
    const file = copyFlow(dir, 'include-data.ts');
    const first = await runFlow(dir, ['--cache'], {}, file);
    expect(ran(first)).toEqual(['end/0', 'start/0']);
    expect(ran(await runFlow(dir, ['--cache'], {}, file))).toEqual([]);
    writeFileSync(join(dir, 'data.txt'), 'a\nb\nc\n');
    const changed = await runFlow(dir, ['--cache'], {}, file);
    expect(ran(changed)).toEqual(['start/0']);
    expect(await endArtifact(dir, changed.id, 'rows')).toEqual(['a', 'b', 'c']);
    // end carries the new content of both inputs, reused without reading them.
    expect(changed.artifacts['end/0']!.data).toBe(changed.artifacts['start/0']!.data);
    expect(changed.artifacts['end/0']!.data).not.toBe(first.artifacts['end/0']!.data);
  });
});
