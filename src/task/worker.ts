/**
 * Entry point of a pooled worker process as tsc builds it (dist/src/task/worker.js): the runtime
 * build's is dist/bundle/task/worker.cjs (tools/build-runtime.ts). Both run startWorker.
 */
import { startWorker } from './worker-main.js';

await startWorker();
