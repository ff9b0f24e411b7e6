import type { ChildProcess } from 'node:child_process';
import { RUNTIME_WORKER } from '../util/package-info.js';

/** A worker bin/run.js forked for `flow run` before loading the CLI (bin/early-worker.js). */
export interface EarlyWorker {
  child: ChildProcess;
  /** It said 'ready' before the pool listened. */
  ready: boolean;
}

const EARLY_WORKER = Symbol.for('flowrun.earlyWorker');

/**
 * The worker bin/run.js started for this run, if there is one still alive and it runs this
 * flowrun's task runtime; taken once (a second pool gets none). Undefined outside the CLI.
 */
export function takeEarlyWorker(): EarlyWorker | undefined {
  const holder = globalThis as { [EARLY_WORKER]?: EarlyWorker };
  const early = holder[EARLY_WORKER];
  delete holder[EARLY_WORKER];
  if (!early) return undefined;
  const usable = early.child.connected && early.child.exitCode === null && early.child.signalCode === null && early.child.spawnargs.includes(RUNTIME_WORKER);
  if (usable) return early;
  discardEarlyWorker(early);
  return undefined;
}

/** Stops a worker the run does not use (a flow whose steps all run remotely, or that needs other workers). */
export function discardEarlyWorker(early: EarlyWorker): void {
  if (early.child.connected) early.child.disconnect(); // the worker exits on disconnect
}
