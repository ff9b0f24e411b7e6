import { type ChildProcess, spawn } from 'node:child_process';
import { commandInImage, type ImageSpec, sandboxArgs, type VolumeMount } from './sandbox.js';

/** How an attempt's process ended. */
export interface ProcessExit {
  /** Undefined when the container never started (as Batch reports CannotStartContainerError). */
  exitCode?: number;
  /** Container-level reason, as Batch reports it (e.g. for a kill). */
  reason?: string;
}

export interface RunningProcess {
  /** Stops the process (SIGTERM, then SIGKILL after a grace period, as `docker stop` does). */
  stop(reason: string, hostGone?: boolean): void;
  readonly done: Promise<ProcessExit>;
  readonly output: () => string;
}

const KEEP_OUTPUT_BYTES = 64 * 1024;
const STOP_GRACE_MS = 2_000;

/**
 * Runs a job attempt's container command the way a container runs it (bubblewrap: see
 * sandboxArgs): no shell, a fresh root with the image's folders only, an empty working directory,
 * HOME and /tmp, and only the environment given. A command the image lacks never starts.
 */
export function runProcess(command: string[], env: Record<string, string>, image: ImageSpec, volumes: VolumeMount[], log?: (text: string) => void, cpuFile?: string): RunningProcess {
  let output = '';
  let stopReason: string | undefined;
  let hostGone = false;
  let child: ChildProcess;
  const done = new Promise<ProcessExit>((resolve) => {
    if (command.length === 0) {
      resolve({ reason: 'CannotStartContainerError: the job has no command' });
      return;
    }
    if (!commandInImage(command[0]!, image)) {
      resolve({ reason: `CannotStartContainerError: Error response from daemon: failed to create task for container: OCI runtime create failed: exec: "${command[0]}": executable file not found in $PATH: unknown` });
      return;
    }
    const bwrap = ['bwrap', ...sandboxArgs(image, env, volumes, { pidNamespace: !cpuFile }), '--', ...command];
    // GNU time counts the CPU of the whole process tree (the loader, the bootstrap, the worker).
    const argv = cpuFile ? ['/usr/bin/time', '-q', '-f', '%U %S', '-o', cpuFile, ...bwrap] : bwrap;
    // Its own process group: a stop reaches every process of the container (as `docker stop` does),
    // also one the signal to bwrap alone would leave running while it holds the output pipes.
    child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const keep = (d: Buffer) => {
      const text = d.toString('utf8');
      log?.(text);
      output = (output + text).slice(-KEEP_OUTPUT_BYTES);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('error', (e) => {
      output += `${e.message}\n`;
    });
    child.on('close', (code, signal) => {
      if (hostGone) {
        resolve({ reason: stopReason });
        return;
      } // the container vanished with its host: no exit code
      if (code === null && signal) resolve({ exitCode: 128 + signalNumber(signal), reason: stopReason ?? `Container killed by ${signal}` });
      else resolve({ exitCode: code ?? 1, ...(stopReason ? { reason: stopReason } : {}) });
    });
  });
  return {
    done,
    output: () => output,
    stop(reason: string, gone = false) {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      stopReason = reason;
      hostGone = gone;
      if (gone) {
        killGroup(child, 'SIGKILL');
        return;
      }
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_GRACE_MS);
      timer.unref();
      void done.then(() => clearTimeout(timer));
    },
  };
}

/** Signals the container's whole process group; falls back to the process alone. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    child.kill(signal);
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 1;
}
