import type { BatchClient } from '@aws-sdk/client-batch';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowConfig } from '../config/config.js';
import type { FlowGraph } from '../graph/types.js';
import type { Store } from '../store/types.js';
import { S3Store } from '../store/s3.js';
import { describeLocation, type S3Location } from '../store/s3-location.js';
import { compileFlow } from '../loader/compile.js';
import { batchClient, checkQueues, JobDefinitions } from './api.js';
import { BatchBackend } from './backend.js';
import { taskBundle, uploadBundle } from './bundle.js';
import { ObjectBridge } from './objects.js';
import type { TaskPayload } from './payload.js';
import { type BatchStepSettings, batchStepSettings, batchStoreLocation, isBatchStep } from './settings.js';

const DEFAULT_RUNNABLE_LIMIT_S = 1800;

/** Everything checked before a run id is allocated, for a run with @batch steps. */
export interface BatchPlan {
  steps: Map<string, BatchStepSettings>;
  location: S3Location;
  remote: S3Store;
  client: BatchClient;
  /** Creates the backend once the run id and code package are known. */
  backend(o: { run: string; flow: string; local: Store; code: TaskPayload['code']; path: string; projectRoot: string; envPackages: ReadonlySet<string>; info: (line: string) => void }): BatchBackend;
  close(): void;
}

/**
 * For a graph with @batch steps: folds each step's settings (usage errors, exit 2), finds the S3
 * store (exit 2 without one), opens it and checks every queue exists (exit 4) — all before the
 * run starts. Returns undefined when no step runs on Batch.
 */
export async function prepareBatch(config: FlowConfig, graph: FlowGraph): Promise<BatchPlan | undefined> {
  const batchSteps = graph.steps.filter(isBatchStep);
  if (batchSteps.length === 0) return undefined;
  const steps = new Map(batchSteps.map((s) => [s.name, batchStepSettings(s, config.batch, graph.file)]));
  const location = batchStoreLocation(config);
  const remote = await S3Store.open(location);
  const client = batchClient(config.batch);
  try {
    await checkQueues(client, [...new Set([...steps.values()].map((s) => s.queue))], config.batch);
  } catch (e) {
    client.destroy();
    throw e;
  }
  const local = isLoopback(config.batch?.endpoint ?? '');
  // The same job command and bundle for every endpoint: the local one runs jobs as containers too.
  const bundle = await taskBundle();
  await uploadBundle(remote, bundle);
  const jobRoleArn = config.batch?.jobRoleArn ?? undefined;
  const definitions = new JobDefinitions(client, bundle.command, jobRoleArn, config.batch);
  const region = config.batch?.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  return {
    steps, location, remote, client,
    backend: (o) => new BatchBackend({
      client, config: config.batch, run: o.run, flow: o.flow, remote, bridge: new ObjectBridge(o.local, remote), definitions, code: o.code, steps,
      module: () => compiledForContainer(o.path, o.projectRoot, o.envPackages, remote),
      environment: { ...storeEnvironment(location), FLOW_BUNDLE: bundle.hash, AWS_REGION: region },
      // A local endpoint runs jobs in seconds; AWS in minutes, where slower polling saves calls.
      pollMs: { min: 250, max: local ? 1_000 : 10_000 },
      runnableLimitMs: 1000 * (config.batch?.runnableTimeoutSeconds ?? DEFAULT_RUNNABLE_LIMIT_S),
      info: o.info,
    }),
    close: () => client.destroy(),
  };
}

/**
 * The flow compiled once for the containers (its `import 'flowrun'` left by name, to be the
 * bundle's copy; source map paths relative to where the job places it) and stored as an object.
 */
async function compiledForContainer(path: string, projectRoot: string, envPackages: ReadonlySet<string>, remote: Store): Promise<string> {
  const compiled = await compileFlow(path, projectRoot, envPackages, { flowrunImport: 'flowrun', moduleDir: join(projectRoot, '.flowrun') });
  return remote.putObject(readFileSync(compiled.modulePath));
}

function isLoopback(url: string): boolean {
  if (!url) return false;
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '[::1]' || host.startsWith('127.');
  } catch {
    return false;
  }
}

/** Where the S3 store is, for the job (never credentials: those come from the job role). */
function storeEnvironment(loc: S3Location): Record<string, string> {
  return {
    FLOW_STORE_URL: describeLocation(loc).replace(/\/$/, ''),
    ...(loc.endpoint ? { FLOW_S3_ENDPOINT: loc.endpoint } : {}),
    ...(loc.region ? { FLOW_S3_REGION: loc.region } : {}),
    ...(loc.forcePathStyle !== undefined ? { FLOW_S3_FORCE_PATH_STYLE: String(loc.forcePathStyle) } : {}),
  };
}
