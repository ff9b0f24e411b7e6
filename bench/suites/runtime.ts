import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, REPO, benchProject, linearFlowSource, median, ms, foreachFlowSource, type Section } from '../util.js';
import { logs } from './logs.js';

const FOREACH = foreachFlowSource(1, '(this.input as number) * 2');

/** Wall time and peak RSS (KiB) of `flow run`, via GNU time; the flow is compiled beforehand. */
function timedRun(dir: string, args: string[]): { wall: number; rssKiB: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, BIN, 'run', ...args, '-q'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`flow run ${args.join(' ')} failed: ${r.stderr}`);
  const [wall, rss] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number];
  return { wall: wall * 1000, rssKiB: rss };
}

function dirStats(root: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else {
        files++;
        bytes += st.blocks * 512;
      }
    }
  };
  walk(root);
  return { files, bytes };
}

export async function runtime(): Promise<Section[]> {
  const dir = benchProject({ 'fe.ts': FOREACH, 'linear.ts': linearFlowSource(10) });
  timedRun(dir, ['fe.ts']); // compile + warm the caches
  const one: number[] = [];
  const thousand: number[] = [];
  for (let i = 0; i < 3; i++) {
    one.push(timedRun(dir, ['fe.ts', '--n', '1', '--max-workers', '2']).wall);
    thousand.push(timedRun(dir, ['fe.ts', '--n', '1000', '--max-workers', '2']).wall);
  }
  const perTask = (median(thousand) - median(one)) / 999;
  const linear = [0, 1, 2].map(() => timedRun(dir, ['linear.ts']).wall);

  rmSync(join(dir, '.flow'), { recursive: true, force: true });
  const before = { files: 0, bytes: 0 };
  const big = timedRun(dir, ['fe.ts', '--n', '10000']);
  const after = dirStats(join(dir, '.flow'));
  const tasks = 10_003;

  const child = (mode: string, scratch: string, arg: string) => {
    const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, join(REPO, 'dist/bench/big-artifact.js'), mode, scratch, arg], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return { ...(JSON.parse(r.stdout) as { ms: number; ref?: unknown }), rssKiB: Number(r.stderr.trim().split('\n').at(-1)) };
  };
  const scratch = benchProject({});
  const save = child('store-save', join(scratch, 'store'), '1024');
  const load = child('store-load', join(scratch, 'store'), JSON.stringify(save.ref));
  const floorSave = child('floor-save', scratch, '1024');
  const floorLoad = child('floor-load', scratch, '');
  rmSync(scratch, { recursive: true, force: true });
  const store = { save: save.ms, load: load.ms, rssKiB: Math.max(save.rssKiB, load.rssKiB) };
  const floor = { save: floorSave.ms, load: floorLoad.ms, rssKiB: Math.max(floorSave.rssKiB, floorLoad.rssKiB) };

  // flow runs / inspect with 1,000 runs in the store.
  const many = benchProject({ 'linear.ts': linearFlowSource(3, 'Tiny') });
  execFileSync(process.execPath, [BIN, 'run', 'linear.ts', '-q'], { cwd: many });
  const { cpSync } = await import('node:fs');
  for (let i = 2; i <= 1000; i++) {
    cpSync(join(many, '.flow/runs/run-1'), join(many, `.flow/runs/run-${i}`), { recursive: true });
  }
  const time = (args: string[]) => {
    const t: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      execFileSync(process.execPath, [BIN, ...args], { cwd: many, stdio: 'ignore' });
      t.push(performance.now() - t0);
    }
    return median(t);
  };
  const runsTime = time(['runs', '--json']);
  const inspectTime = time(['inspect', 'run-500', '--json']);
  const node0 = time(['--version']);
  rmSync(many, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });

  const logSection = await logs();
  return [
    {
      title: 'Local runtime: per-task overhead and scale',
      command: '`flow run` whole process (GNU time), trivial foreach flow, flow compiled beforehand; medians of 3',
      rows: [
        { name: '**per-task overhead** (foreach-1000 minus foreach-1, ÷ 999, --max-workers 2)', value: ms(perTask), note: `target ≤ 8 ms; Metaflow 157 ms. foreach-1: ${ms(median(one))}, foreach-1000: ${ms(median(thousand))}` },
        { name: 'linear-10 wall time', value: ms(median(linear)) },
        { name: 'foreach-10,000 wall time (default workers)', value: ms(big.wall), note: 'Metaflow foreach-1000: 227 s' },
        { name: 'foreach-10,000 orchestrator peak RSS', value: `${(big.rssKiB / 1024).toFixed(0)} MiB`, note: 'target < 512 MiB' },
        { name: 'files on disk per task (foreach-10,000 store)', value: ((after.files - before.files) / tasks).toFixed(2), note: 'Metaflow: 44–48' },
        { name: 'bytes on disk per task', value: `${((after.bytes - before.bytes) / tasks / 1024).toFixed(1)} KiB`, note: 'Metaflow: ~190 KB (allocated blocks)' },
      ],
    },
    {
      title: 'A 1 GiB Buffer artifact: save + load through the store vs the floor',
      command: 'bench/big-artifact.ts: save and load each in its own child process; floor = sha256 + writeFileSync, then readFileSync + sha256 of the same bytes; peak RSS by GNU time (max of save and load)',
      rows: [
        { name: 'save (store)', value: ms(store.save), note: `floor ${ms(floor.save)} (×${(store.save / floor.save).toFixed(2)}); Metaflow 200 MiB: 4.8 s` },
        { name: 'load (store, hash verified)', value: ms(store.load), note: `floor ${ms(floor.load)} (×${(store.load / floor.load).toFixed(2)}); Metaflow 200 MiB: 1.38 s` },
        { name: 'peak RSS (store)', value: `${(store.rssKiB / 1024).toFixed(0)} MiB`, note: `${(store.rssKiB / 1024 / 1024).toFixed(2)}× the artifact; target ≤ 1.5×; floor ${(floor.rssKiB / 1024).toFixed(0)} MiB` },
      ],
    },
    {
      title: 'Reading runs back with 1,000 runs in the store',
      command: 'whole-process wall time of the CLI, median of 5',
      rows: [
        { name: '`flow runs --json`', value: ms(runsTime), note: 'target < 300 ms' },
        { name: '`flow inspect run-500 --json`', value: ms(inspectTime) },
        { name: '`flow --version` (CLI start-up floor)', value: ms(node0) },
      ],
    },
    logSection,
  ];
}
