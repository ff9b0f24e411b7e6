import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveCondaLock } from '../../src/env/conda.js';
import { prepareEnvironments } from '../../src/env/prepare.js';
import type { Literal } from '../../src/decorators/types.js';
import { GRAPH_SCHEMA, type FlowGraph } from '../../src/graph/types.js';
import { LocalStore } from '../../src/store/local.js';
import { startChannel } from '../conda-channel.js';
import { startRegistry } from '../registry.js';
import { BIN, REPO, benchProject, median, ms, type Section } from '../util.js';

const PACKAGES = { 'bench-a': '^1.0.0', 'bench-b': '^1.0.0', 'bench-c': '^1.0.0' };
const TASKS = 40;

function graphWith(packages: Record<string, string>, decorator = 'npm', channels?: string[], python?: string): FlowGraph {
  const options: Record<string, Literal> = channels ? { packages, channels } : { packages };
  if (python) options.python = python;
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
 * with @npm against the same step importing the package from the project's node_modules; and
 * @conda (condaSection).
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
    run('plain.ts');
    run('env.ts'); // warm-up: compile, resolve, install
    const plain: number[] = [];
    const withEnv: number[] = [];
    for (let i = 0; i < 5; i++) {
      plain.push(run('plain.ts'));
      withEnv.push(run('env.ts'));
    }
    rmSync(project, { recursive: true, force: true });
    const perTask = (median(withEnv) - median(plain)) / TASKS;

    const conda = await condaSection(scratch, store);
    return [
      {
        title: 'Environments: @npm resolve, install and per-task cost',
        command: `in-process prepareEnvironments (what flow run does before its first task) against verdaccio 6.8 on 127.0.0.1, cached = median of 9; whole-process flow run of a foreach-${TASKS} flow, --max-workers 2, median of 5 alternating runs`,
        rows: [
          { name: 'resolve + install, 3 packages, cold (npm resolve + npm ci)', value: ms(cold) },
          { name: 'resolve + install, same spec, cached', value: ms(median(cached)), note: `target < 50 ms; max ${ms(Math.max(...cached))}` },
          { name: 'resolve again (--refresh-envs), install cached', value: ms(resolveAgain) },
          { name: `flow run, ${TASKS} tasks importing a package from the project`, value: ms(median(plain)) },
          { name: `flow run, ${TASKS} tasks importing it from an @npm env`, value: ms(median(withEnv)) },
          { name: 'per-task overhead of @npm', value: ms(perTask), note: 'difference of the medians / tasks (noise can make it negative)' },
        ],
      },
      conda,
    ];
  } finally {
    process.env = saved;
    await registry.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * @conda against the local test channel, with the conda-forge-shaped env of the tests (python 3.11
 * + noarch minipip with entry points + libdemo with text and binary placeholders, 5 packages):
 * solve cold (loading rattler's WASM) and again, install with an empty package cache and with the
 * archives cached (prefix removed), and a run start when the env is installed.
 */
async function condaSection(scratch: string, store: LocalStore): Promise<Section> {
  const channel = await startChannel(join(scratch, 'conda'));
  const graph = graphWith({ minipip: '23.0', libdemo: '3.3' }, 'conda', [channel.url], '3.11');
  const timed = async () => {
    const t0 = performance.now();
    const r = await prepareEnvironments({ graph, store, projectRoot: scratch, conda: true, info: () => {} });
    return { ms: performance.now() - t0, prefix: r.conda.get('start')!.prefix };
  };
  try {
    const t0 = performance.now();
    await resolveCondaLock({ packages: { minipip: '23.0', libdemo: '3.3' }, python: '3.11', channels: [channel.url] }, { steps: ['start'], refresh: true });
    const solveCold = performance.now() - t0;
    const solveAgain: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t1 = performance.now();
      await resolveCondaLock({ packages: { minipip: '23.0', libdemo: '3.3' }, python: '3.11', channels: [channel.url] }, { steps: ['start'], refresh: true });
      solveAgain.push(performance.now() - t1);
    }
    const cold = await timed(); // the solve is cached now: this is the install alone
    const files = countFiles(cold.prefix);
    const warm: number[] = [];
    for (let i = 0; i < 5; i++) {
      rmSync(cold.prefix, { recursive: true, force: true });
      warm.push((await timed()).ms);
    }
    const cached: number[] = [];
    for (let i = 0; i < 9; i++) cached.push((await timed()).ms);
    return {
      title: 'Environments: @conda solve and install (conda-forge-shaped packages)',
      command: `in-process, local test channel on 127.0.0.1 (bench/conda-packages.ts), @conda({ packages: { minipip: '23.0', libdemo: '3.3' }, python: '3.11' }): 5 packages, ${files} files in the prefix; medians of 5 (cached: of 9); load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores when it ended`,
      rows: [
        { name: 'solve, first in the process (rattler WASM load + repodata + solve)', value: ms(solveCold) },
        { name: 'solve again (rattler loaded; what --refresh-envs costs)', value: ms(median(solveAgain)) },
        { name: 'install, empty package cache (download, sha256, unpack, link, relocate, .pyc)', value: ms(cold.ms) },
        { name: 'install, archives in the package cache (prefix removed, solve cached)', value: ms(median(warm)), note: `min ${ms(Math.min(...warm))}, max ${ms(Math.max(...warm))}; includes compiling .pyc with the env's python` },
        { name: 'env installed: what a run start pays', value: ms(median(cached)), note: `max ${ms(Math.max(...cached))}` },
      ],
    };
  } finally {
    await channel.stop();
  }
}

function countFiles(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).length;
}
