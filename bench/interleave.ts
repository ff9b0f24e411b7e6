import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './util.js';

/** One whole-process command to time. */
export interface Probe {
  name: string;
  cmd: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Runs before each timed run, untimed (e.g. to remove a cache). */
  before?: () => void;
}

export interface ProbeTimes {
  name: string;
  times: number[];
  median: number;
  min: number;
  max: number;
  /** Median CPU time (user + sys, 10 ms resolution): it does not grow with the machine's load as wall time does. */
  cpu: number;
}

/**
 * Wall times of whole processes, interleaved: round r runs every probe once, in order, so a
 * change in machine load hits all of them alike and `node -e 0` (the floor) is measured in the
 * same minutes as the commands it is compared with. One untimed warm-up round first.
 */
export function interleaved(probes: Probe[], rounds: number): Map<string, ProbeTimes> {
  const times = new Map<string, number[]>(probes.map((p) => [p.name, []]));
  const cpu = new Map<string, number[]>(probes.map((p) => [p.name, []]));
  const scratch = mkdtempSync(join(tmpdir(), 'flowrun-bench-time-'));
  const out = join(scratch, 'time');
  try {
    for (let r = -1; r < rounds; r++) {
      for (const p of probes) {
        p.before?.();
        const t0 = performance.now();
        // GNU time adds a fork/exec of its own (~1 ms) to every probe alike, node included.
        const res = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', out, p.cmd, ...p.args], { cwd: p.cwd, env: p.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] });
        const ms = performance.now() - t0;
        if (res.status !== 0) throw new Error(`${p.name}: ${p.cmd} ${p.args.join(' ')} exited ${res.status}: ${String(res.stderr).slice(0, 2000)}`);
        if (r < 0) continue;
        times.get(p.name)!.push(ms);
        const [user, sys] = readFileSync(out, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
        cpu.get(p.name)!.push(((user ?? 0) + (sys ?? 0)) * 1000);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return new Map([...times].map(([name, t]) => [name, { name, times: t, median: median(t), min: Math.min(...t), max: Math.max(...t), cpu: median(cpu.get(name)!) }]));
}

/** The 1-minute load average and the core count, for the report: ratios hold under load, absolute times do not. */
export function machineLoad(): string {
  return loadavg()[0]!.toFixed(1);
}
