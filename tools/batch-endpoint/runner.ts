import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How an attempt's process ended. */
export interface ProcessExit {
  exitCode: number;
  /** Container-level reason, as Batch reports it (e.g. for a kill). */
  reason?: string;
}

export interface RunningProcess {
  /** Stops the process (SIGTERM, then SIGKILL after a grace period, as `docker stop` does). */
  stop(reason: string): void;
  readonly done: Promise<ProcessExit>;
  readonly output: () => string;
}

const KEEP_OUTPUT_BYTES = 64 * 1024;
const STOP_GRACE_MS = 2_000;

/**
 * Runs a job attempt's container command as a local child process: no shell, a fresh empty
 * working directory (as a new container would have), and only the environment given (plus
 * PATH/HOME so the local "image" can find its tools).
 */
export function runProcess(command: string[], env: Record<string, string>, log?: (text: string) => void): RunningProcess {
  const cwd = mkdtempSync(join(tmpdir(), 'batch-job-'));
  const base: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SYSTEMROOT']) if (process.env[k] !== undefined) base[k] = process.env[k]!;
  let output = '';
  let stopReason: string | undefined;
  let child: ChildProcess;
  const done = new Promise<ProcessExit>((resolve) => {
    if (command.length === 0) { resolve({ exitCode: 1, reason: 'CannotStartContainerError: the job has no command' }); return; }
    child = spawn(command[0]!, command.slice(1), { cwd, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      const text = d.toString('utf8');
      log?.(text);
      output = (output + text).slice(-KEEP_OUTPUT_BYTES);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('error', (e) => { output += `${e.message}\n`; });
    child.on('close', (code, signal) => {
      rmSync(cwd, { recursive: true, force: true });
      if (code === null && signal) resolve({ exitCode: 128 + signalNumber(signal), reason: stopReason ?? `Container killed by ${signal}` });
      else resolve({ exitCode: code ?? 1, ...(stopReason ? { reason: stopReason } : {}) });
    });
  });
  return {
    done,
    output: () => output,
    stop(reason: string) {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      stopReason = reason;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      timer.unref();
      void done.then(() => clearTimeout(timer));
    },
  };
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 1;
}
