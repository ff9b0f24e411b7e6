import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchApiError, BatchEmulator, type EmulatorOptions } from './emulator.js';
import { bwrapAvailable } from './sandbox.js';
import type { FaultSettings } from './types.js';

/** REST-JSON routes of the Batch API (as @aws-sdk/client-batch sends them) → emulator operations. */
const OPERATIONS: Record<string, { name: string; run: (e: BatchEmulator, body: Record<string, unknown>) => unknown }> = {
  '/v1/registerjobdefinition': { name: 'RegisterJobDefinition', run: (e, b) => e.registerJobDefinition(b) },
  '/v1/describejobdefinitions': { name: 'DescribeJobDefinitions', run: (e, b) => e.describeJobDefinitions(b) },
  '/v1/describejobqueues': { name: 'DescribeJobQueues', run: (e, b) => e.describeJobQueues(b) },
  '/v1/describecomputeenvironments': { name: 'DescribeComputeEnvironments', run: (e, b) => e.describeComputeEnvironments(b) },
  '/v1/submitjob': { name: 'SubmitJob', run: (e, b) => e.submitJob(b) },
  '/v1/describejobs': { name: 'DescribeJobs', run: (e, b) => e.describeJobs(b) },
  '/v1/listjobs': { name: 'ListJobs', run: (e, b) => e.listJobs(b) },
  '/v1/terminatejob': { name: 'TerminateJob', run: (e, b) => e.terminateJob(b) },
  '/v1/canceljob': { name: 'CancelJob', run: (e, b) => e.terminateJob(b) },
};

/** CloudWatch Logs operations (awsJson1.1 on the root path) → the emulator's log store. */
const LOGS_OPERATIONS: Record<string, (e: BatchEmulator, body: Record<string, unknown>) => unknown> = {
  GetLogEvents: (e, b) => e.logs.getLogEvents(b),
};

export interface BatchEndpoint {
  /** http://127.0.0.1:PORT — pass as `endpoint` to BatchClient. */
  url: string;
  emulator: BatchEmulator;
  close(): Promise<void>;
}

/**
 * Starts the local Batch endpoint on 127.0.0.1. Besides the Batch API it serves a small admin
 * API for tests and local debugging, under /__emulator/:
 *   GET  /__emulator/jobs          every job (parents, children) as DescribeJobs shows it
 *   GET  /__emulator/calls         API calls by operation
 *   GET  /__emulator/log?stream=S  the output of one attempt (its logStreamName)
 *   POST /__emulator/faults        set fault injection (FaultSettings JSON)
 *   POST /__emulator/queues        {"name": Q} creates a job queue
 */
export async function startBatchEndpoint(options: EmulatorOptions & { port?: number } = {}): Promise<BatchEndpoint> {
  if (!bwrapAvailable()) {
    throw new Error('The local Batch endpoint runs each job in an isolated root with bubblewrap, which is not available here: install it (apt-get install bubblewrap) or allow user namespaces.');
  }
  const emulator = new BatchEmulator(options);
  const server = createServer((req, res) => {
    void handle(emulator, req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, emulator, close: () => closeAll(server, emulator) };
}

async function handle(emulator: BatchEmulator, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  try {
    const body = await readJson(req);
    if (url.pathname.startsWith('/__emulator/')) return send(res, 200, admin(emulator, req.method ?? 'GET', url, body));
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string' && target.startsWith('Logs_20140328.')) {
      const op = LOGS_OPERATIONS[target.slice('Logs_20140328.'.length)];
      if (!op) throw new BatchApiError('ClientException', `Unknown CloudWatch Logs operation ${target}.`);
      emulator.count(`Logs.${target.slice('Logs_20140328.'.length)}`);
      return send(res, 200, op(emulator, body), 'application/x-amz-json-1.1');
    }
    const op = OPERATIONS[url.pathname.toLowerCase()];
    if (!op || req.method !== 'POST') throw new BatchApiError('ClientException', `Unknown operation ${req.method} ${url.pathname}.`);
    emulator.count(op.name);
    send(res, 200, op.run(emulator, body));
  } catch (e) {
    const err = e instanceof BatchApiError ? e : new BatchApiError('ServerException', (e as Error).message);
    // REST-JSON errors: the type in x-amzn-errortype and __type; the SDK maps 429 + ThrottlingException to a retryable throttle.
    res.setHeader('x-amzn-errortype', err.type);
    send(res, err.status, { __type: err.type, message: err.message });
  }
}

function admin(emulator: BatchEmulator, method: string, url: URL, body: Record<string, unknown>): unknown {
  const path = url.pathname.slice('/__emulator/'.length);
  if (method === 'GET' && path === 'jobs') return { jobs: emulator.allJobs() };
  if (method === 'GET' && path === 'calls') return { calls: emulator.calls };
  if (method === 'GET' && path === 'log') return { log: emulator.log(url.searchParams.get('stream') ?? '') ?? null };
  if (method === 'POST' && path === 'faults') {
    emulator.setFaults(body as unknown as FaultSettings);
    return {};
  }
  if (method === 'POST' && path === 'queues' && typeof body.name === 'string') {
    emulator.addQueue(body.name);
    return {};
  }
  throw new BatchApiError('ClientException', `Unknown admin request ${method} ${url.pathname}.`);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    throw new BatchApiError('ClientException', 'The request body is not valid JSON.');
  }
}

function send(res: ServerResponse, status: number, value: unknown, type = 'application/json'): void {
  const body = JSON.stringify(value ?? {});
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function closeAll(server: Server, emulator: BatchEmulator): Promise<void> {
  await emulator.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
