/**
 * The container entry point without the CLI around it (no oclif start-up): the command the
 * local Batch endpoint runs. On AWS the same code runs as `flow task-bootstrap`.
 */
import { formatError } from '../errors/format.js';
import { isFlowError } from '../errors/index.js';

// As bin/run.js does: the pinned SDK's Node-22 notice is noise in every task's log. Set before
// the SDK is imported (hence the dynamic import below).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

try {
  const { taskBootstrap } = await import('./bootstrap.js');
  process.exitCode = await taskBootstrap();
} catch (e) {
  process.stderr.write(`${isFlowError(e) ? formatError(e) : `flowrun bootstrap: ${(e as Error).stack ?? String(e)}`}\n`);
  process.exitCode = isFlowError(e) ? e.exitCode : 1;
}
