/**
 * The main of a pooled worker process (src/task/worker.ts, or dist/bundle/task/worker.cjs in the
 * runtime build). It runs one task at a time for the orchestrator (its parent). Each task writes
 * into its own log files (fds 1 and 2 are pointed at them when it starts: stdio.ts), starts from
 * the state the worker recorded before its first task (realm.ts, process-state.ts), and ends with
 * the processes it started (children.ts). When that state cannot be put back, the worker says so
 * with its result and is retired. It exits when the orchestrator disconnects, so no worker
 * outlives a killed run.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { setParamOverrides } from '../flow/decorators.js';
import { attachLocalStore } from '../store/open.js';
import type { DiskStore } from '../store/types.js';
import { endTaskProcesses, taskStartedProcesses, trackChildren } from './children.js';
import { preloadEnvironmentHooks } from './env-resolution.js';
import { executeTask } from './execute.js';
import { captureProcessState, trackTimers } from './process-state.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { captureRealm } from './realm.js';
import { emptyStreams, pointStdio } from './stdio.js';
import { traceMark } from '../util/trace.js';
import { loadDeferredBuiltins } from '../util/deferred-builtins.js';
import { RUNTIME_ENTRY } from '../util/package-info.js';

export interface WorkerOptions {
  /** Called once, after the first task: bin/load-bundle.js writes the code cache of the runtime build (a worker ends by SIGKILL). */
  saveCompiledCode?: () => void;
}

const send = (m: FromWorker) => process.send!(m);

/** Runs the worker: tasks come and results go over the IPC channel; it exits when the channel closes. */
export async function startWorker(o: WorkerOptions = {}): Promise<void> {
  traceMark('worker main');
  // Before any step can replace their functions (dist/bundle loads node:zlib on first use).
  loadDeferredBuiltins();
  const stores = new Map<string, DiskStore>();
  let saveCompiledCode = o.saveCompiledCode;

  // Stack traces of a failing step point at the user's .ts file and line (the compiled module carries a source map).
  process.setSourceMapsEnabled(true);
  // A flow with @npm steps: start the module hooks' loader thread now rather than in the first task.
  if (process.env.FLOWRUN_MODULE_HOOKS) {
    delete process.env.FLOWRUN_MODULE_HOOKS;
    preloadEnvironmentHooks();
  }
  // Created now, while fds 1 and 2 are files: Node then writes them synchronously for good.
  void process.stdout;
  void process.stderr;
  process.on('disconnect', () => {
    void endTaskProcesses().finally(() => process.exit(0));
  });
  process.on('message', (m: ToWorker) => {
    if (m.type === 'exit') {
      process.disconnect();
      return;
    }
    traceMark(`worker job ${m.job.step}`);
    const store = stores.get(m.job.storeRoot) ?? attachLocalStore(m.job.storeRoot);
    stores.set(m.job.storeRoot, store);
    try {
      pointStdio(m.logs.stdout, m.logs.stderr);
    } catch (e) {
      send({ type: 'done', result: { ok: false, error: { code: 'TASK_CRASHED', step: m.job.step, exitCode: 1, message: `Task ${m.job.step}/${m.job.taskId} could not start: ${(e as Error).message}.`, fix: 'Retry the run (flow resume); the worker was replaced.' } }, retire: (e as Error).message });
      return;
    }
    if (m.job.inspect) waitForDebugger(m.job.inspect);
    // fds 1 and 2 stay on this task's files until the next task takes them: anything written in
    // between (by a process that escaped the task) lands there, after the file was stored.
    void executeTask(m.job, store).then(({ result, retire }) => {
      let empty: ReturnType<typeof emptyStreams> = [];
      try {
        empty = emptyStreams(taskStartedProcesses());
      } catch {
        /* the task closed fd 1 or 2: new files next time */
      }
      traceMark(`worker done ${m.job.step}`);
      send({ type: 'done', result, ...(retire ? { retire } : {}), ...(empty.length ? { empty } : {}) });
      // After the first task: the code it compiled is kept too, and the orchestrator has its result.
      if (saveCompiledCode) setImmediate(saveCompiledCode);
      saveCompiledCode = undefined;
    });
  });
  // A stray rejection or exception outside the step's await chain fails the process, like a crash.
  process.on('unhandledRejection', (e) => {
    console.error(e);
    process.exit(70);
  });
  trackChildren((pid) => send({ type: 'spawned', pid }));
  // flowrun's own per-task global exists from the start: otherwise every task would add it and the restore delete it.
  setParamOverrides(undefined);
  // The module a flow's `import ... from 'flowrun'` loads (the loader pins it to this package's
  // entry): loaded now, while the orchestrator is still compiling and snapshotting, instead of in
  // the first task (from dist/src it adds the client and card modules the worker does not use
  // itself; in the runtime build it is the ES module face of the bundle this code runs from).
  traceMark('worker imports');
  await import(pathToFileURL(RUNTIME_ENTRY).href);
  traceMark('worker index loaded');
  trackTimers();
  captureProcessState();
  captureRealm();
  traceMark('worker ready');
  send({ type: 'ready' });
}

/** flow spin --inspect-brk: the inspector listens (its URL goes to the orchestrator, which prints it) until a debugger attaches. */
function waitForDebugger(at: { host: string; port: number }): void {
  // Required here, not at start-up: only a `flow spin --inspect-brk` task uses it.
  const inspector = createRequire(import.meta.url)('node:inspector') as typeof import('node:inspector');
  inspector.open(at.port, at.host, false);
  send({ type: 'inspector', url: inspector.url() ?? `ws://${at.host}:${at.port}` });
  inspector.waitForDebugger();
}
