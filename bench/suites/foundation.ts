import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, benchProject, linearFlowSource, median, ms, timeProcess, type Section } from '../util.js';
import { extractGraph } from '../../src/graph/extract.js';
import { validateGraph } from '../../src/graph/validate.js';
import { compileFlow } from '../../src/loader/compile.js';

/** Start-up of show/check (issue 3): Metaflow's `show` takes 0.32 s here; target ≤ 160 ms. */
export async function foundation(): Promise<Section[]> {
  const dir = benchProject({ 'flows/ten.ts': linearFlowSource(10, 'Ten') });
  const cache = join(dir, 'node_modules', '.cache');
  const node0 = timeProcess(process.execPath, ['-e', '0'], dir);
  const showCached = timeProcess(process.execPath, [BIN, 'show', 'flows/ten.ts'], dir);
  const checkCached = timeProcess(process.execPath, [BIN, 'check', 'flows/ten.ts'], dir);
  const uncached = (args: string[]) => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      rmSync(cache, { recursive: true, force: true });
      times.push(timeProcess(process.execPath, [BIN, ...args], dir, 1).median);
    }
    return median(times);
  };
  const showCold = uncached(['show', 'flows/ten.ts']);
  const checkCold = uncached(['check', 'flows/ten.ts']);
  const help = timeProcess(process.execPath, [BIN, '--help'], dir);

  const big = linearFlowSource(300, 'Big');
  const parse: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const r = extractGraph('big.ts', big);
    validateGraph(r.graph!);
    parse.push(performance.now() - t0);
  }

  // The loader: esbuild compile (cold: build + write; warm: input hashes checked) then import.
  const loaderDir = benchProject({ 'flows/ten.ts': linearFlowSource(10, 'Ten'), 'flows/util.ts': 'export const k = 1;\n' });
  const compileTimes = { cold: [] as number[], warm: [] as number[] };
  for (let i = 0; i < 5; i++) {
    rmSync(join(loaderDir, 'node_modules', '.cache'), { recursive: true, force: true });
    let t0 = performance.now();
    await compileFlow(join(loaderDir, 'flows/ten.ts'), loaderDir);
    compileTimes.cold.push(performance.now() - t0);
    t0 = performance.now();
    await compileFlow(join(loaderDir, 'flows/ten.ts'), loaderDir);
    compileTimes.warm.push(performance.now() - t0);
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(loaderDir, { recursive: true, force: true });

  return [
    {
      title: 'CLI start-up: flow show / flow check on a 10-step flow',
      command: 'whole-process wall time, median of 7 after a warm-up (cold = graph/build cache removed before each run, median of 5)',
      rows: [
        { name: '`node -e 0` (floor)', value: ms(node0.median) },
        { name: '`flow --help`', value: ms(help.median) },
        { name: '`flow show` (graph cache fresh)', value: ms(showCached.median), note: `min ${ms(showCached.min)}, max ${ms(showCached.max)}; target ≤ 160 ms, Metaflow 320 ms` },
        { name: '`flow show` (no cache: parse with oxc-parser)', value: ms(showCold) },
        { name: '`flow check` (caches fresh)', value: ms(checkCached.median), note: `min ${ms(checkCached.min)}, max ${ms(checkCached.max)}` },
        { name: '`flow check` (no cache: parse + esbuild compile)', value: ms(showCold > 0 ? checkCold : 0) },
      ],
    },
    {
      title: 'Static graph: parse + validate a generated 300-step flow (in process)',
      command: 'extractGraph + validateGraph, median of 20 (first run includes warm-up)',
      rows: [{ name: '300-step flow', value: ms(median(parse)), note: `first run ${ms(parse[0]!)}` }],
    },
    {
      title: 'Flow loader: esbuild compile to an ES module, cached by input hashes',
      command: 'compileFlow() on a 10-step flow importing a sibling module, median of 5',
      rows: [
        { name: 'cold (esbuild build + write)', value: ms(median(compileTimes.cold)) },
        { name: 'warm (inputs re-hashed, cache hit)', value: ms(median(compileTimes.warm)) },
      ],
    },
  ];
}
