import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Proc {
  pid: number;
  cmd: string;
}

/** A pooled worker's command line: dist/bundle/task/worker.cjs (the runtime build), or dist/src/task/worker.js. */
export const isWorkerCommand = (cmd: string) => /\/task\/worker\.c?js\b/.test(cmd);

/**
 * flowrun processes (orchestrator or pooled workers) whose working directory is `dir`.
 * Workers inherit the orchestrator's cwd, and no other test uses this temp dir, so this finds
 * exactly this test's processes even after they are re-parented by a killed orchestrator.
 */
export function processesIn(dir: string): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`) !== dir) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (/\) Z /.test(stat)) continue; // a zombie has exited already
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
      if (isWorkerCommand(cmd) || cmd.includes('bin/run.js')) out.push({ pid: Number(name), cmd });
    } catch {
      /* exited meanwhile, or not ours to read */
    }
  }
  return out;
}

export async function waitUntilGone(dir: string, ms: number): Promise<Proc[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = processesIn(dir);
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(50);
  }
}
