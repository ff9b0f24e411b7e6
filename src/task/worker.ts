/**
 * Entry point of a pooled worker process. It runs one task at a time for the orchestrator
 * (its parent). The task writes to the worker's real stdout/stderr (pipes, written
 * synchronously on Linux, so nothing is lost if the task calls process.exit); after each task
 * the worker writes an end marker to both streams so the orchestrator can cut the logs per
 * task. It exits when the orchestrator disconnects, so no worker outlives a killed run.
 */
import { writeSync } from 'node:fs';
import { LocalStore } from '../store/local.js';
import { preloadEnvironmentHooks } from './env-resolution.js';
import { executeTask } from './execute.js';
import { endMarker, type FromWorker, type ToWorker } from './protocol.js';

const send = (m: FromWorker) => process.send!(m);
const stores = new Map<string, LocalStore>();
let seq = 0;

// Stack traces of a failing step point at the user's .ts file and line (the compiled module carries a source map).
process.setSourceMapsEnabled(true);
// A flow with @npm steps: start the module hooks' loader thread now rather than in the first task.
if (process.env.FLOWRUN_MODULE_HOOKS) {
  delete process.env.FLOWRUN_MODULE_HOOKS;
  preloadEnvironmentHooks();
}
process.on('disconnect', () => process.exit(0));
process.on('message', (m: ToWorker) => {
  if (m.type === 'exit') { process.disconnect(); return; }
  const store = stores.get(m.job.storeRoot) ?? new LocalStore(m.job.storeRoot);
  stores.set(m.job.storeRoot, store);
  void executeTask(m.job, store).then((result) => {
    const marker = endMarker(++seq);
    writeSync(1, marker);
    writeSync(2, marker);
    send({ type: 'done', result, seq });
  });
});
// A stray rejection or exception outside the step's await chain fails the process, like a crash.
process.on('unhandledRejection', (e) => { console.error(e); process.exit(70); });
send({ type: 'ready' });
