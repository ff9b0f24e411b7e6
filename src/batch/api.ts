import { BatchClient, DescribeJobDefinitionsCommand, DescribeJobQueuesCommand, RegisterJobDefinitionCommand } from '@aws-sdk/client-batch';
import type { BatchConfig } from '../config/config.js';
import { ExitCode, FlowError } from '../errors/index.js';
import { type BatchStepSettings, jobDefinitionName, resourceRequirements } from './settings.js';

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
    exitCode: ExitCode.remote, cause: e,
    fix: auth ? 'Check the AWS credentials the SDK finds (AWS_PROFILE, environment, SSO, instance role) and that they allow the Batch actions listed in the README.'
      : 'Check batch.endpoint/batch.region in .flowrc and your network; the README lists the IAM permissions the orchestrator needs.',
  });
}

/** Every queue the run will use must exist before the run starts (exit 4 naming the queue). */
export async function checkQueues(client: BatchClient, queues: string[], config: BatchConfig | undefined): Promise<void> {
  let found: Set<string>;
  try {
    const r = await client.send(new DescribeJobQueuesCommand({ jobQueues: queues }));
    found = new Set((r.jobQueues ?? []).flatMap((q) => [q.jobQueueName ?? '', q.jobQueueArn ?? '']));
  } catch (e) {
    throw batchError(e, 'Looking up the job queue', config);
  }
  for (const q of queues) {
    if (!found.has(q)) {
      throw new FlowError('BATCH_QUEUE_NOT_FOUND', `The AWS Batch job queue ${q} does not exist${config?.endpoint ? ` at ${config.endpoint}` : ` in ${config?.region ?? process.env.AWS_REGION ?? 'us-east-1'}`}.`, {
        exitCode: ExitCode.remote, key: 'batch.queue',
        fix: 'Create it (templates/batch-cloudformation.yaml creates one), or name an existing queue in .flowrc batch.queue, FLOW_BATCH_QUEUE or @batch({ queue }).',
      });
    }
  }
}

/**
 * Job definitions are named by the hash of their content, so one is registered once per
 * (image, resources, role, command) ever: an ACTIVE definition of that name is reused.
 */
export class JobDefinitions {
  private readonly known = new Map<string, Promise<string>>();

  constructor(private readonly client: BatchClient, private readonly command: string[], private readonly jobRoleArn: string | undefined, private readonly config: BatchConfig | undefined) {}

  arnFor(s: BatchStepSettings): Promise<string> {
    const name = jobDefinitionName(s, this.command, this.jobRoleArn);
    let p = this.known.get(name);
    if (!p) { p = this.ensure(name, s); this.known.set(name, p); }
    return p;
  }

  private async ensure(name: string, s: BatchStepSettings): Promise<string> {
    try {
      const existing = await this.client.send(new DescribeJobDefinitionsCommand({ jobDefinitionName: name, status: 'ACTIVE' }));
      const found = existing.jobDefinitions?.at(-1)?.jobDefinitionArn;
      if (found) return found;
      const r = await this.client.send(new RegisterJobDefinitionCommand({
        jobDefinitionName: name, type: 'container',
        containerProperties: { image: s.image, command: this.command, resourceRequirements: resourceRequirements(s), ...(this.jobRoleArn ? { jobRoleArn: this.jobRoleArn } : {}) },
        tags: { 'flowrun:definition': name },
      }));
      return r.jobDefinitionArn!;
    } catch (e) {
      throw batchError(e, `Registering job definition ${name}`, this.config);
    }
  }
}
