#!/usr/bin/env node
/**
 * A local, wire-compatible AWS Batch endpoint for development and tests:
 *   node dist/tools/batch-endpoint/cli.js [--port N] [--slots K] [--queue NAME]... [--step-ms MS]
 *       [--role-env NAME=VALUE]...
 * Point a BatchClient (or flowrun's `batch.endpoint`) at the printed URL. Each job's command runs
 * like a container's, in bubblewrap over this machine's system folders (every image name is this
 * system). `--role-env` sets variables every job running with a job role receives (e.g.
 * credentials for a local S3 server).
 */
import { parseArgs } from 'node:util';
import { startBatchEndpoint } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8010' },
    slots: { type: 'string', default: '2' },
    queue: { type: 'string', multiple: true, default: ['flow-queue'] },
    'step-ms': { type: 'string', default: '0' },
    'role-env': { type: 'string', multiple: true, default: [] },
    quiet: { type: 'boolean', default: false },
  },
});

const roleEnv = Object.fromEntries(values['role-env'].map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const endpoint = await startBatchEndpoint({
  port: Number(values.port),
  slots: Number(values.slots),
  queues: values.queue,
  stepMs: Number(values['step-ms']),
  roleCredentials: { '*': roleEnv },
  onOutput: values.quiet ? undefined : (jobId, text) => process.stderr.write(text.replace(/^(?=.)/gm, `[${jobId}] `)),
});
process.stdout.write(`listening ${endpoint.url} (queues: ${values.queue.join(', ')}; slots: ${values.slots})\n`);
const stop = () => {
  void endpoint.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
