import type { BatchClient } from '@aws-sdk/client-batch';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowConfig } from '../config/config.js';
import type { FlowGraph } from '../graph/types.js';
import type { Store } from '../store/types.js';
import { S3Store } from '../store/s3.js';
import { describeLocation, type S3Location } from '../store/s3-location.js';
import { compileFlow } from '../loader/compile.js';
import { batchClient, describeQueues, JobDefinitions } from './api.js';
import { type DefinitionSettings, validateForQueue } from './definition.js';
import { BatchBackend } from './backend.js';
import { taskBundle, uploadBundle } from './bundle.js';
import { type ContainerEnvs, type RunEnvironments, StepEnvironments } from './envs.js';
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
  /** @batch steps and whether each asks for a GPU (their conda envs are solved for that target). */
  remoteSteps: ReadonlyMap<string, { gpu: boolean }>;
  /** Makes the steps' environments available to the containers (before the run id is allocated). */
  prepareEnvironments(envs: RunEnvironments, local: Store, info: (line: string) => void): Promise<void>;
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
  const definitionSettings: DefinitionSettings = {
    command: [],
    jobRoleArn: config.batch?.jobRoleArn ?? undefined,
    executionRoleArn: config.batch?.executionRoleArn ?? undefined,
    ...(config.batch?.assignPublicIp !== undefined ? { assignPublicIp: config.batch.assignPublicIp } : {}),
  };
  let queues;
  try {
    queues = await describeQueues(client, [...new Set([...steps.values()].map((s) => s.queue))], config.batch);
    // Whatever the queue cannot run is refused now, before a run id exists and before any job is submitted.
    for (const [name, s] of steps) validateForQueue(name, s, queues.get(s.queue)!, definitionSettings, graph.file);
  } catch (e) {
    client.destroy();
    throw e;
  }
  const local = isLoopback(config.batch?.endpoint ?? '');
  // The same job command and bundle for every endpoint: the local one runs jobs as containers too.
  const bundle = await taskBundle();
  await uploadBundle(remote, bundle);
  const definitions = new JobDefinitions(client, { ...definitionSettings, command: bundle.command }, queues, config.batch);
  const region = config.batch?.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const containerEnvs = new Map<string, ContainerEnvs>();
  return {
    steps,
    location,
    remote,
    client,
    remoteSteps: new Map([...steps].map(([name, st]) => [name, { gpu: st.gpu > 0 }])),
    prepareEnvironments: async (envs, localStore, info) => {
      const prepared = new StepEnvironments(envs, localStore, remote, info);
      for (const step of steps.keys()) containerEnvs.set(step, await prepared.forStep(step));
    },
    backend: (o) =>
      new BatchBackend({
        envs: (step) => containerEnvs.get(step) ?? {},
        client,
        config: config.batch,
        run: o.run,
        flow: o.flow,
        remote,
        bridge: new ObjectBridge(o.local, remote),
        definitions,
        code: o.code,
        steps,
        module: () => compiledForContainer(o.path, o.projectRoot, o.envPackages, remote),
        environment: { ...storeEnvironment(location), FLOW_BUNDLE: bundle.hash, AWS_REGION: region },
        // A local endpoint runs jobs in seconds; AWS in minutes, where slower polling saves calls.
        pollMs: { min: 250, max: local ? 1_000 : 10_000 },
        logEveryS: config.batch?.logEverySeconds ?? 10,
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
