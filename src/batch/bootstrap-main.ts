/**
 * The container entry point without the CLI around it (no oclif start-up): the command the
 * local Batch endpoint runs. On AWS the same code runs as `flow task-bootstrap`.
 */
import { formatError } from '../cli/format.js';
import { isFlowError } from '../errors/index.js';
import { taskBootstrap } from './bootstrap.js';

try {
  process.exitCode = await taskBootstrap();
} catch (e) {
  process.stderr.write(`${isFlowError(e) ? formatError(e) : `flowrun bootstrap: ${(e as Error).stack ?? String(e)}`}\n`);
  process.exitCode = isFlowError(e) ? e.exitCode : 1;
}
