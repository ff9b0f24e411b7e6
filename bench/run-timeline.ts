import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, median } from './util.js';

interface Mark {
  at: number;
  pid: number;
  cpu: number;
  label: string;
}

/**
 * Where a `flow run` spends its time: the run's FLOW_TRACE marks (src/util/trace.ts), as ms from
 * the CLI process's start, median of `n` runs; each label of the CLI and of its (first) worker.
 */
export function runTimeline(cwd: string, args: string[], n = 5): string {
  const scratch = mkdtempSync(join(tmpdir(), 'flowrun-bench-trace-'));
  const offsets = new Map<string, number[]>();
  try {
    for (let i = 0; i < n; i++) {
      const file = join(scratch, `trace-${i}.txt`);
      const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, FLOW_TRACE: file }, stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.status !== 0) throw new Error(`flow ${args.join(' ')} exited ${r.status}: ${String(r.stderr).slice(0, 2000)}`);
      const marks: Mark[] = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => {
          const [at, pid, cpu, ...label] = l.split(' ');
          return { at: Number(at), pid: Number(pid), cpu: Number(cpu), label: label.join(' ') };
        });
      const cli = marks.find((m) => m.label === 'run command')!.pid;
      const start = marks.find((m) => m.pid === cli && m.label === 'process start')!.at;
      const worker = marks.find((m) => m.pid !== cli)?.pid;
      for (const m of marks) {
        if (m.pid !== cli && m.pid !== worker) continue;
        const key = `${m.pid === cli ? 'CLI' : 'worker'}: ${m.label}`;
        offsets.set(key, [...(offsets.get(key) ?? []), m.at - start]);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return [...offsets]
    .map(([label, xs]) => ({ label, at: median(xs) }))
    .sort((a, b) => a.at - b.at)
    .map((x) => `${x.label} ${x.at.toFixed(0)}`)
    .join('; ');
}
