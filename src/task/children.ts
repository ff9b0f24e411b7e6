import childProcess, { ChildProcess } from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { alive, taskProcesses } from '../util/processes.js';

/**
 * The processes a task starts end with the task. Every way Node starts a process goes through
 * ChildProcess.prototype.spawn (spawn, exec, execFile, fork) or the three sync functions,
 * wrapped here once per worker: the pid of a child that leads its own group (detached) is
 * kept, and reported to the orchestrator so a timeout can kill it too. At the end of a task,
 * if it started anything, the worker kills its process group's other members, the detached
 * groups, and every descendant, and waits until none can run (and so write into the log).
 */
let started = false;
let lastTaskStarted = false;

/** Whether the task that just ended started any process (one might outlive it, holding its log files). */
export function taskStartedProcesses(): boolean {
  return lastTaskStarted;
}
const detached = new Set<number>();
let report: (pid: number) => void = () => {};

export function trackChildren(onDetached: (pid: number) => void): void {
  report = onDetached;
  const proto = ChildProcess.prototype as unknown as { spawn: (this: ChildProcess, options: { detached?: boolean }) => unknown };
  const spawn = proto.spawn;
  proto.spawn = function (this: ChildProcess, options: { detached?: boolean }) {
    started = true;
    const r = spawn.call(this, options);
    if (options?.detached && this.pid !== undefined) {
      detached.add(this.pid);
      report(this.pid);
    }
    return r;
  };
  const cp = childProcess as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of ['spawnSync', 'execSync', 'execFileSync']) {
    const original = cp[name]!;
    cp[name] = {
      [name](...args: unknown[]) {
        started = true;
        return original(...args);
      },
    }[name]!;
  }
  syncBuiltinESMExports();
}

/**
 * Kills what the task started, if anything; resolves when none of it can run any more. A task
 * that started nothing through Node's APIs costs nothing here (the common case).
 */
export async function endTaskProcesses(): Promise<void> {
  lastTaskStarted = started;
  if (!started) return;
  const groups = [...detached];
  started = false;
  detached.clear();
  // A process can fork between the table being read and its parent's kill (a shell starting its
  // command, which then holds the task's pipes): the table is read again after each round, until
  // nothing of the task is left (the new ones are in the worker's group, or children of the found).
  for (let round = 0; round < 10; round++) {
    const targets = taskProcesses(process.pid, groups).filter(alive);
    if (targets.length === 0) return;
    for (const pid of targets) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (let i = 0; i < 200 && targets.some(alive); i++) await sleep(5);
  }
}
