import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareEnvironments } from '../../src/env/prepare.js';
import type { Literal } from '../../src/decorators/types.js';
import { GRAPH_SCHEMA, type FlowGraph } from '../../src/graph/types.js';
import { LocalStore } from '../../src/store/local.js';
import { startChannel } from '../conda-channel.js';
import { startRegistry } from '../registry.js';
import { BIN, REPO, benchProject, median, ms, type Section } from '../util.js';

const PACKAGES = { 'bench-a': '^1.0.0', 'bench-b': '^1.0.0', 'bench-c': '^1.0.0' };
const TASKS = 40;

function graphWith(packages: Record<string, string>, decorator = 'npm', channels?: string[]): FlowGraph {
  const options: Record<string, Literal> = channels ? { packages, channels } : { packages };
  const step = { name: 'start', line: 1, async: true, takesInputs: false, transitions: [], next: [], type: 'linear' as const, assigns: [], in: [], decorators: [{ name: decorator, options }] };
  return { schema: GRAPH_SCHEMA, file: 'b.ts', flow: 'B', line: 1, params: [], order: ['start'], decorators: [], steps: [step] };
}

function foreachFlow(withNpm: boolean): string {
  const deco = withNpm ? `@npm({ packages: { 'bench-a': '^1.0.0' } })\n  ` : '';
  return `import { FlowSpec, step, npm } from 'flowrun';
export default class Fe extends FlowSpec {
  items!: number[];
  v!: string;
  @step start() { this.items = [...Array(${TASKS}).keys()]; this.next(this.work, { foreach: 'items' }); }
  ${deco}@step async work() { this.v = (await import('bench-a')).default.version; this.next(this.join); }
  @step join(inputs: unknown[]) { this.next(this.end); }
  @step end() {}
}
`;
}

/**
 * @npm environments against a local verdaccio: resolve + install of a 3-package env cold and
 * cached (in-process, what a run does before its first task), and the per-task cost of a step
 * with @npm against the same step importing the package from the project's node_modules; conda
 * solve + install against the local test channel, cold and cached.
 */
export async function environments(): Promise<Section[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'flowrun-bench-env-'));
  const registry = await startRegistry(join(scratch, 'registry'), REPO);
  const saved = { ...process.env };
  try {
    for (const name of Object.keys(PACKAGES)) await registry.publish(name, '1.0.0');
    Object.assign(process.env, registry.env(join(scratch, 'cache')));
    const store = LocalStore.open(join(scratch, 'store'));
    let modules = '';
    const prepare = async () => {
      const t0 = performance.now();
      modules = (await prepareEnvironments({ graph: graphWith(PACKAGES), store, projectRoot: scratch })).envs.get('start')!.modules;
      return performance.now() - t0;
    };
    const cold = await prepare();
    const cached: number[] = [];
    for (let i = 0; i < 9; i++) cached.push(await prepare());
    const resolveAgain = await (async () => {
      const t0 = performance.now();
      await prepareEnvironments({ graph: graphWith(PACKAGES), store, projectRoot: scratch, refresh: true });
      return performance.now() - t0;
    })();

    const project = benchProject({ 'plain.ts': foreachFlow(false), 'env.ts': foreachFlow(true) });
    cpSync(join(modules, 'bench-a'), join(project, 'node_modules', 'bench-a'), { recursive: true });
    const run = (file: string) => {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [BIN, 'run', file, '-q', '--max-workers', '2'], { cwd: project, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`flow run ${file} exited ${r.status}: ${r.stderr}`);
      return performance.now() - t0;
    };
    run('plain.ts'); run('env.ts'); // warm-up: compile, resolve, install
    const plain: number[] = [];
    const withEnv: number[] = [];
    for (let i = 0; i < 5; i++) { plain.push(run('plain.ts')); withEnv.push(run('env.ts')); }
    rmSync(project, { recursive: true, force: true });
    const perTask = (median(withEnv) - median(plain)) / TASKS;

    const channel = await startChannel(join(scratch, 'conda'));
    const condaGraph = graphWith({ hello: '1.*' }, 'conda', [channel.url]);
    const condaPrepare = async () => {
      const t0 = performance.now();
      await prepareEnvironments({ graph: condaGraph, store, projectRoot: scratch, conda: true });
      return performance.now() - t0;
    };
    const condaCold = await condaPrepare();
    const condaCached: number[] = [];
    for (let i = 0; i < 9; i++) condaCached.push(await condaPrepare());
    const t0 = performance.now();
    await prepareEnvironments({ graph: condaGraph, store, projectRoot: scratch, conda: true, refresh: true });
    const condaSolve = performance.now() - t0;
    await channel.stop();
    return [{
      title: 'Environments: @npm resolve, install and per-task cost',
      command: `in-process prepareEnvironments (what flow run does before its first task) against verdaccio 6.8 on 127.0.0.1, cached = median of 9; whole-process flow run of a foreach-${TASKS} flow, --max-workers 2, median of 5 alternating runs`,
      rows: [
        { name: 'resolve + install, 3 packages, cold (npm resolve + npm ci)', value: ms(cold) },
        { name: 'resolve + install, same spec, cached', value: ms(median(cached)), note: `target < 50 ms; max ${ms(Math.max(...cached))}` },
        { name: 'resolve again (--refresh-envs), install cached', value: ms(resolveAgain) },
        { name: `flow run, ${TASKS} tasks importing a package from the project`, value: ms(median(plain)) },
        { name: `flow run, ${TASKS} tasks importing it from an @npm env`, value: ms(median(withEnv)) },
        { name: 'per-task overhead of @npm', value: ms(perTask), note: 'difference of the medians / tasks (noise can make it negative)' },
        { name: 'conda: solve (rattler) + install (download, sha256, extract .tar.bz2), local channel, cold', value: ms(condaCold) },
        { name: 'conda: same spec, cached', value: ms(median(condaCached)) },
        { name: 'conda: solve again (--refresh-envs), install cached', value: ms(condaSolve) },
      ],
    }];
  } finally {
    process.env = saved;
    await registry.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
