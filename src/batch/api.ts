import { BatchClient, type ComputeEnvironmentDetail, DescribeComputeEnvironmentsCommand, DescribeJobDefinitionsCommand, DescribeJobQueuesCommand, type JobQueueDetail, RegisterJobDefinitionCommand } from '@aws-sdk/client-batch';
import type { BatchConfig } from '../config/config.js';
import { ExitCode, FlowError } from '../errors/index.js';
import { type DefinitionSettings, jobDefinitionBody, largestInstanceMiB, type Platform, type QueueInfo } from './definition.js';
import { type BatchStepSettings, jobDefinitionName } from './settings.js';

/** A BatchClient from `.flowrc` batch.region/endpoint; credentials only from the SDK's default chain. */
export function batchClient(config: BatchConfig | undefined): BatchClient {
  return new BatchClient({
    region: config?.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(config?.endpoint ? { endpoint: config.endpoint } : {}),
  });
}

export function isThrottling(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'ThrottlingException' || err?.name === 'TooManyRequestsException' || err?.$metadata?.httpStatusCode === 429;
}

/** Any failure talking to Batch: exit 4, naming the endpoint and what was being done (never credentials). */
export function batchError(e: unknown, doing: string, config: BatchConfig | undefined): FlowError {
  const err = e as Error & { name?: string };
  const where = config?.endpoint ? `the Batch endpoint ${config.endpoint}` : `AWS Batch in ${config?.region ?? process.env.AWS_REGION ?? 'us-east-1'}`;
  const auth = /credential|signature|token|AccessDenied|UnrecognizedClient/i.test(`${err.name} ${err.message}`);
  return new FlowError('BATCH_API_ERROR', `${doing} failed at ${where}: ${err.name ?? 'Error'}: ${err.message}`, {
    exitCode: ExitCode.remote,
    cause: e,
    fix: auth ? 'Check the AWS credentials the SDK finds (AWS_PROFILE, environment, SSO, instance role) and that they allow the Batch actions listed in the README.' : 'Check batch.endpoint/batch.region in .flowrc and your network; the README lists the IAM permissions the orchestrator needs.',
  });
}

/**
 * Every queue the run will use must exist before the run starts (exit 4 naming the queue); what
 * each can run comes from its compute environments: the platform (EC2, Spot, Fargate, Fargate
 * Spot), the most vCPUs, the largest instance.
 */
export async function describeQueues(client: BatchClient, queues: string[], config: BatchConfig | undefined): Promise<Map<string, QueueInfo>> {
  let found: JobQueueDetail[];
  try {
    found = (await client.send(new DescribeJobQueuesCommand({ jobQueues: queues }))).jobQueues ?? [];
  } catch (e) {
    throw batchError(e, 'Looking up the job queue', config);
  }
  const out = new Map<string, QueueInfo>();
  const environments = [...new Set(found.flatMap((q) => (q.computeEnvironmentOrder ?? []).map((c) => c.computeEnvironment!)))];
  let described: ComputeEnvironmentDetail[] = [];
  try {
    if (environments.length) described = (await client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: environments }))).computeEnvironments ?? [];
  } catch (e) {
    throw batchError(e, 'Looking up the compute environments of the job queue', config);
  }
  for (const q of queues) {
    const detail = found.find((d) => d.jobQueueName === q || d.jobQueueArn === q);
    if (!detail) {
      throw new FlowError('BATCH_QUEUE_NOT_FOUND', `The AWS Batch job queue ${q} does not exist${config?.endpoint ? ` at ${config.endpoint}` : ` in ${config?.region ?? process.env.AWS_REGION ?? 'us-east-1'}`}.`, {
        exitCode: ExitCode.remote,
        key: 'batch.queue',
        fix: 'Create it (templates/aws/batch-cloudformation.yaml creates one), or name an existing queue in .flowrc batch.queue, FLOW_BATCH_QUEUE or @batch({ queue }).',
      });
    }
    const names = new Set((detail.computeEnvironmentOrder ?? []).map((c) => c.computeEnvironment));
    const ces = described.filter((c) => names.has(c.computeEnvironmentArn) || names.has(c.computeEnvironmentName));
    const types = ces.map((c) => (c.computeResources?.type ?? 'EC2') as Platform);
    const instanceTypes = ces.flatMap((c) => c.computeResources?.instanceTypes ?? []);
    const maxvCpus = ces.length ? Math.max(...ces.map((c) => c.computeResources?.maxvCpus ?? 0)) : undefined;
    const fargate = types.find((t) => t === 'FARGATE' || t === 'FARGATE_SPOT');
    out.set(q, {
      name: q,
      platform: fargate ?? types[0] ?? 'EC2',
      instanceTypes,
      ...(maxvCpus ? { maxvCpus } : {}),
      ...(!fargate && instanceTypes.length ? { maxMemoryMiB: largestInstanceMiB(instanceTypes) } : {}),
    });
  }
  return out;
}

/**
 * Job definitions are named by the hash of their content, so one is registered once per
 * (image, resources, roles, command, options, platform) ever: an ACTIVE definition of that name is reused.
 */
export class JobDefinitions {
  private readonly known = new Map<string, Promise<string>>();

  constructor(
    private readonly client: BatchClient,
    private readonly settings: DefinitionSettings,
    private readonly queues: ReadonlyMap<string, QueueInfo>,
    private readonly config: BatchConfig | undefined,
  ) {}

  arnFor(s: BatchStepSettings): Promise<string> {
    const queue = this.queues.get(s.queue) ?? { name: s.queue, platform: 'EC2' as const, instanceTypes: [] };
    const body = jobDefinitionBody(s, queue, this.settings);
    const name = jobDefinitionName(body);
    let p = this.known.get(name);
    if (!p) {
      p = this.ensure(name, body);
      this.known.set(name, p);
    }
    return p;
  }

  private async ensure(name: string, body: ReturnType<typeof jobDefinitionBody>): Promise<string> {
    try {
      const existing = await this.client.send(new DescribeJobDefinitionsCommand({ jobDefinitionName: name, status: 'ACTIVE' }));
      const found = existing.jobDefinitions?.at(-1)?.jobDefinitionArn;
      if (found) return found;
      const r = await this.client.send(new RegisterJobDefinitionCommand({ ...body, jobDefinitionName: name, tags: { 'flowrun:definition': name } }));
      return r.jobDefinitionArn!;
    } catch (e) {
      throw batchError(e, `Registering job definition ${name}`, this.config);
    }
  }
}
