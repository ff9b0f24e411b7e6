import { closeSync, openSync } from 'node:fs';

/**
 * A worker's fds 1 and 2 are regular files, never pipes: the pool starts it with both on a file
 * of its own, and each task points them at that task's own log files as it starts. So
 * process.stdout is Node's synchronous file stream (a write is on disk when it returns: no
 * queue to lose at process.exit, no EAGAIN), a child process inheriting stdio writes into the
 * same file, and a process that outlives its task (one that escaped its process group) keeps
 * writing into that task's file, never into the next task's.
 *
 * Node has no dup2(), but open(2) returns the lowest free descriptor: closing fd 1 and opening
 * the new file gives it fd 1. Nothing else opens files while the worker switches (between
 * tasks; a task that left I/O in flight has its worker retired), and the result is checked.
 */
export class StdioSwitchError extends Error {}

/** Points fd 1 at `stdout` and fd 2 at `stderr` (opened for appending, created if missing). */
export function pointStdio(stdout: string, stderr: string): void {
  point(1, stdout);
  point(2, stderr);
}

function point(fd: 1 | 2, path: string): void {
  try { closeSync(fd); } catch { /* already closed by the task: open() takes the slot all the same */ }
  const got = openSync(path, 'a');
  if (got !== fd) {
    closeSync(got);
    throw new StdioSwitchError(`fd ${fd} was taken while switching the task's output (got ${got})`);
  }
}
