// `flow run`: its first worker process is started here, before the CLI bundle is loaded (issue #18).
//
// A run's critical path was two Node start-ups in a row: the CLI's (Node, the bundle, oclif, the
// flow's graph) and then its worker's (Node, the task runtime), ~130 ms each at the least. Forked
// now, the worker starts up while the CLI does, on the other core. The run's pool adopts it
// (src/runtime/early-worker.ts) when it would have started the same worker itself; otherwise it
// is stopped, and it exits on its own when this process ends (workers exit on disconnect).
'use strict';

/** Where the pool looks for it (src/runtime/early-worker.ts names the same symbol). */
const EARLY_WORKER = Symbol.for('flowrun.earlyWorker');

/**
 * Whether these arguments are a `flow run` that will want a local worker: not a help request,
 * and not a run sent to AWS Batch as a whole (--with batch), whose steps need none.
 */
function wantsEarlyWorker(argv) {
  if (argv[0] !== 'run') return false;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') return false;
    const decorator = a.startsWith('--with=') ? a.slice('--with='.length) : argv[i - 1] === '--with' ? a : undefined;
    if (decorator !== undefined && /^batch(:|$)/.test(decorator)) return false;
  }
  return true;
}

/** Forks the task runtime's worker as the pool would (src/runtime/pool.ts, spawn), and keeps it for the pool. */
function startEarlyWorker(script) {
  const { fork } = require('node:child_process');
  // Its start-up output goes nowhere, as the pool's does (a log file it removes unread). Detached:
  // the worker leads its own process group, which its tasks' children join.
  const child = fork(script, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], execArgv: [], serialization: 'advanced', detached: true });
  const early = { child, ready: false };
  // 'ready' may come before the pool listens: kept here for it.
  child.on('message', (m) => {
    if (m && m.type === 'ready') early.ready = true;
  });
  child.on('error', () => {
    /* the pool sees it exited and starts its own */
  });
  // Until the pool adopts it, it must not keep the CLI alive (a usage error exits at once).
  child.unref();
  if (child.channel) child.channel.unref();
  globalThis[EARLY_WORKER] = early;
}

module.exports = { wantsEarlyWorker, startEarlyWorker };
