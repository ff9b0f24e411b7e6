import { closeSync, fstatSync, openSync } from 'node:fs';
import { monotonicNow } from '../util/primordials.js';

/**
 * A worker's fds 1 and 2 are regular files, never pipes: the pool starts it with both on a file
 * of its own, and each task points them at that task's own log files as it starts. So
 * process.stdout is Node's synchronous file stream (a write is on disk when it returns: no
 * queue to lose at process.exit, no EAGAIN), a child process inheriting stdio writes into the
 * same file, and a process that outlives its task (one that escaped its process group) keeps
 * writing into that task's file, never into the next task's.
 *
 * Node has no dup2(), but open(2) returns the lowest free descriptor: closing fd 1 and opening
 * the new file gives it fd 1. flowrun starts no I/O while the worker switches (between tasks; a
 * task that left I/O in flight has its worker retired), but other threads of the process may
 * open a file for a moment at any time (glibc reads /proc/sys/vm/overcommit_memory when a V8 or
 * libuv thread trims its heap), and one can land on the freed fd 1: the switch then waits for it
 * to be closed again (openAt). An fd held for longer is an error, and the worker is replaced.
 */
export class StdioSwitchError extends Error {}

const current: Record<1 | 2, string | undefined> = { 1: undefined, 2: undefined };

/**
 * Points fd 1 at `stdout` and fd 2 at `stderr` (opened for appending, created if missing); a
 * stream already on its file (an empty one the pool handed back) is left as it is.
 */
export function pointStdio(stdout: string, stderr: string): void {
  if (current[1] !== stdout) point(1, stdout);
  if (current[2] !== stderr) point(2, stderr);
}

/**
 * The streams a task left empty, which the next task may write into instead of new files
 * (creating a file costs more than the rest of a trivial task's isolation). Only when the task
 * started no process: one outliving it could write there later.
 */
export function emptyStreams(startedProcesses: boolean): Array<'stdout' | 'stderr'> {
  if (startedProcesses) return [];
  const out: Array<'stdout' | 'stderr'> = [];
  if (current[1] !== undefined && fstatSync(1).size === 0) out.push('stdout');
  if (current[2] !== undefined && fstatSync(2).size === 0) out.push('stderr');
  return out;
}

function point(fd: 1 | 2, path: string): void {
  current[fd] = undefined;
  try {
    closeSync(fd);
  } catch {
    /* already closed by the task: open() takes the slot all the same */
  }
  openAt(fd, path);
  current[fd] = path;
}

/** How long another thread may hold the freed descriptor before the switch gives up. */
const HELD_LIMIT_MS = 500;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Opens `path` for appending as descriptor `fd`, which the caller has just closed. While another
 * thread holds `fd` (a passing open of its own), the file lands elsewhere: it is closed again and
 * the open retried each millisecond until `fd` is free or `limitMs` has passed.
 */
export function openAt(fd: number, path: string, limitMs = HELD_LIMIT_MS): void {
  const deadline = monotonicNow() + limitMs;
  for (;;) {
    const got = openSync(path, 'a');
    if (got === fd) return;
    closeSync(got);
    if (got < fd) throw new StdioSwitchError(`fd ${got} below fd ${fd} is free, so the task's output cannot be put on fd ${fd}`);
    if (monotonicNow() >= deadline) throw new StdioSwitchError(`fd ${fd} was taken while switching the task's output and still is after ${limitMs} ms (the file opened as fd ${got})`);
    Atomics.wait(sleeper, 0, 0, 1);
  }
}
