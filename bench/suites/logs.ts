import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, REPO, benchProject, ms, type Section } from '../util.js';

const FLOOD = `import { FlowSpec, step, param, type Inputs } from 'flowrun';
export default class Flood extends FlowSpec {
  @param({ help: 'splits' }) n = 50;
  @param({ help: 'lines per split' }) lines = 20000;
  @param({ help: 'MiB per split instead of lines (0: use lines)' }) mib = 0;
  items!: number[];
  done!: number;
  @step start() { this.items = Array.from({ length: this.n }, (_, i) => i); this.next(this.work, { foreach: 'items' }); }
  @step work() {
    const t = this.input as number;
    if (this.mib > 0) {
      // 1 MiB writes of numbered 64-byte lines.
      for (let c = 0; c < this.mib; c++) {
        let chunk = '';
        for (let i = 0; i < 16384; i++) chunk += \`task \${t} line \${String(c * 16384 + i).padStart(12, '0')} \`.padEnd(63, '.') + '\\n';
        process.stdout.write(chunk);
      }
    } else {
      for (let i = 0; i < this.lines; i++) console.log(\`task \${t} line \${i}\`);
    }
    this.done = 1;
    this.next(this.join);
  }
  @step join(inputs: Inputs<Flood>) { this.done = inputs.length; this.next(this.end); }
  @step end() {}
}
`;

/** Runs the CLI; returns wall time and the orchestrator's own peak RSS (VmHWM, polled), output discarded. */
function runPeak(dir: string, args: string[]): Promise<{ wall: number; peakKiB: number; code: number | null }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, 'run', ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'] });
    let peak = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]));
      } catch {
        /* exited */
      }
    }, 20);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ wall: performance.now() - t0, peakKiB: peak, code });
    });
  });
}

/** Lines of every work task's stored stdout that name another task, and expected lines missing. */
async function audit(dir: string, lines: number): Promise<{ tasks: number; misattributed: number; lost: number }> {
  const { Run, openStore } = (await import(join(REPO, 'dist/src/client/client.js'))) as typeof import('../../src/client/client.js');
  const store = openStore({ store: join(dir, '.flow') });
  const runs = (await store.listRecords('runs')).sort((a, b) => Number(b.slice(4)) - Number(a.slice(4)));
  const run = await Run.open(store, runs[0]!);
  let misattributed = 0;
  let lost = 0;
  const tasks = await run.step('work').tasks();
  for (const t of tasks) {
    const got = (await t.logs()).stdout.split('\n').slice(0, -1);
    misattributed += got.filter((l) => !l.startsWith(`task ${t.id} `)).length;
    const seen = new Set(got);
    for (let i = 0; i < lines; i++) if (!seen.has(`task ${t.id} line ${i}`)) lost++;
  }
  return { tasks: tasks.length, misattributed, lost };
}

export async function logs(): Promise<Section> {
  const dir = benchProject({ 'flood.ts': FLOOD });
  await runPeak(dir, ['flood.ts', '--n', '1', '--lines', '1', '-q']); // compile
  const flood = await runPeak(dir, ['flood.ts', '--max-workers', '4']);
  if (flood.code !== 0) throw new Error(`flood run exited ${flood.code}`);
  const check = await audit(dir, 20000);
  const idle = await runPeak(dir, ['flood.ts', '--n', '1', '--lines', '1']);
  const big = await runPeak(dir, ['flood.ts', '--n', '1', '--mib', '100']);
  const bigQuiet = await runPeak(dir, ['flood.ts', '--n', '1', '--mib', '100', '-q']);
  const { Run, openStore } = (await import(join(REPO, 'dist/src/client/client.js'))) as typeof import('../../src/client/client.js');
  const store = openStore({ store: join(dir, '.flow') });
  const ids = (await store.listRecords('runs')).sort((a, b) => Number(b.slice(4)) - Number(a.slice(4)));
  const stored = (await (await Run.open(store, ids[1]!)).step('work').task('0').logs()).stdout;
  const storedOk = stored.length === 100 * 16384 * 64 && stored.startsWith('task 0 line 000000000000 ');
  rmSync(dir, { recursive: true, force: true });
  const mib = (k: number) => `${(k / 1024).toFixed(0)} MiB`;
  return {
    title: 'Task logs: exactness and orchestrator memory',
    command: 'whole-process `flow run` of a foreach flow printing numbered lines (output to /dev/null); logs read back with the client API; orchestrator peak RSS = its VmHWM, polled',
    rows: [
      { name: '50 tasks × 20,000 lines, --max-workers 4: lines misattributed / lost', value: `${check.misattributed} / ${check.lost}`, note: `${check.tasks} task logs checked line by line; wall ${ms(flood.wall)}, orchestrator peak RSS ${mib(flood.peakKiB)}` },
      { name: 'one task printing 100 MiB (1 MiB writes): orchestrator peak RSS', value: mib(big.peakKiB), note: `live view on; same flow printing one line: ${mib(idle.peakKiB)}; with --quiet: ${mib(bigQuiet.peakKiB)}; stored log complete: ${storedOk ? 'yes' : 'NO'}; wall ${ms(big.wall)}` },
    ],
  };
}
