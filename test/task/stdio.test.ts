import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

// A worker points fds 1 and 2 at each task's log files by closing them and opening the files
// (open(2) takes the lowest free descriptor). Another thread of the process can take the freed
// descriptor for a moment (glibc does, trimming a thread's heap): CI saw a task fail to start so.
// Here a worker thread really holds the descriptor while the main thread switches.

const stdio = pathToFileURL(join(import.meta.dirname, '../../dist/src/task/stdio.js')).href;

/** Runs a process whose fd 1 is closed and then held by a worker thread for `holdMs`, while openAt puts a file on fd 1. */
function switchWhileHeld(holdMs: number, limitMs: number): { out: string; status: string } {
  const dir = mkdtempSync(join(tmpdir(), 'flowrun-stdio-'));
  const target = join(dir, 'task.out');
  // The thread starts first (its event loop takes descriptors of its own), then waits for fd 1 to be free.
  writeFileSync(
    join(dir, 'holder.cjs'),
    `
    const { workerData } = require('node:worker_threads');
    const { openSync, closeSync } = require('node:fs');
    Atomics.wait(workerData.flag, 1, 0, 10000);
    const fd = openSync('/dev/null', 'r');
    Atomics.store(workerData.flag, 0, fd + 1); Atomics.notify(workerData.flag, 0);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${holdMs});
    closeSync(fd);
  `,
  );
  writeFileSync(
    join(dir, 'main.mjs'),
    `
    import { closeSync, openSync, writeSync } from 'node:fs';
    import { Worker } from 'node:worker_threads';
    import { openAt } from ${JSON.stringify(stdio)};
    const report = openSync(${JSON.stringify(join(dir, 'report'))}, 'w');
    const flag = new Int32Array(new SharedArrayBuffer(8));
    const worker = new Worker(${JSON.stringify(join(dir, 'holder.cjs'))}, { workerData: { flag } });
    await new Promise((resolve) => worker.once('online', resolve));
    closeSync(1);
    Atomics.store(flag, 1, 1); Atomics.notify(flag, 1);
    Atomics.wait(flag, 0, 0, 10000);
    const held = Atomics.load(flag, 0) - 1;
    try {
      openAt(1, ${JSON.stringify(target)}, ${limitMs});
      writeSync(1, 'on fd 1');
      writeSync(report, 'held ' + held + ', switched');
    } catch (e) {
      writeSync(report, 'held ' + held + ', ' + e.constructor.name + ': ' + e.message);
    }
    process.exit(0);
  `,
  );
  execFileSync(process.execPath, [join(dir, 'main.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  let out = '';
  try {
    out = readFileSync(target, 'utf8');
  } catch {
    /* never opened */
  }
  return { out, status: readFileSync(join(dir, 'report'), 'utf8') };
}

describe("switching a worker's output while another thread holds the descriptor", () => {
  it("waits for the thread to let go, then the task's file is fd 1", () => {
    const r = switchWhileHeld(50, 2000);
    expect(r.status).toBe('held 1, switched');
    expect(r.out).toBe('on fd 1');
  });

  it('gives up with StdioSwitchError naming the descriptor when it stays taken', () => {
    const r = switchWhileHeld(3000, 100);
    expect(r.status).toMatch(/^held 1, StdioSwitchError: fd 1 was taken while switching the task's output and still is after 100 ms/);
    expect(r.out).toBe('');
  });
});
