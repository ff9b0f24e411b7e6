import { readFileSync, readdirSync } from 'node:fs';

/**
 * Killing what a task started. A worker leads its own process group (the pool forks it
 * detached), so a task's children, and theirs, are in that group unless they left it; a
 * child started with `detached: true` leads a group of its own, and the worker reports those
 * pids as they start. Linux's /proc gives the rest of the family tree.
 */

interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
}

/** Every process on the machine from /proc (empty where there is no /proc). */
function processTable(): ProcInfo[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcInfo[] = [];
  for (const name of names) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const info = procInfo(Number(name));
    if (info) out.push(info);
  }
  return out;
}

function procInfo(pid: number): ProcInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so parse after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pid, ppid: Number(f[1]), pgrp: Number(f[2]), state: f[0]! };
}

/**
 * The processes descending from `root` (by parent link), the members of its process group and
 * of the groups of `spawned` and of every descendant that leads a group; `root` excluded.
 */
export function taskProcesses(root: number, spawned: readonly number[]): number[] {
  const table = processTable();
  const groups = new Set<number>([root, ...spawned]);
  const found = new Set<number>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of table) {
      if (p.pid === root || found.has(p.pid)) continue;
      if (groups.has(p.pgrp) || found.has(p.ppid) || p.ppid === root || spawned.includes(p.pid)) {
        found.add(p.pid);
        if (p.pgrp === p.pid) groups.add(p.pid);
        grew = true;
      }
    }
  }
  return [...found];
}

/**
 * SIGKILLs what a task started: the members of the worker's group, the groups of the pids it
 * reported, and (with `withWorker`, for a timeout or an interrupt) the worker itself and its
 * other descendants, found before the worker dies and its children are re-parented.
 */
export function killTaskProcesses(worker: number | undefined, spawned: readonly number[], withWorker: boolean): void {
  if (worker === undefined) return;
  // Frozen first: the task stops at once (a timeout is a timeout) and cannot fork while its tree is read.
  if (withWorker) signal(-worker, 'SIGSTOP');
  const others = withWorker ? taskProcesses(worker, spawned) : [];
  signal(-worker);
  if (withWorker) signal(worker);
  for (const pid of spawned) {
    signal(-pid);
    signal(pid);
  }
  for (const pid of others) signal(pid);
}

function signal(target: number, sig: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(target, sig);
  } catch {
    /* already gone */
  }
}

/** Whether a process can still run (not gone, not a zombie). */
export function alive(pid: number): boolean {
  const info = procInfo(pid);
  if (info) return info.state !== 'Z' && info.state !== 'X';
  if (process.platform === 'linux') return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
