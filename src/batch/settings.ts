import type { BatchConfig, FlowConfig } from '../config/config.js';
import type { Literal } from '../decorators/types.js';
import { UsageError } from '../errors/index.js';
import type { StepNode } from '../graph/types.js';
import { mirrorLocation } from '../mirror/mirror.js';
import type { S3Location } from '../store/s3-location.js';
import { sha256 } from '../util/hash.js';

/** What one @batch step asks of AWS Batch, after @batch, @resources, --with and .flowrc are folded. */
export interface BatchStepSettings {
  queue: string;
  image: string;
  cpu: number;
  /** MiB */
  memory: number;
  gpu: number;
  /** The CloudWatch log group of the job's output (the awslogs driver's default when absent). */
  logGroup?: string;
}

/** Metaflow's defaults for a Batch task (1 vCPU, 4 GiB) — what its users expect. */
const DEFAULT_CPU = 1;
const DEFAULT_MEMORY_MIB = 4096;
export const DEFAULT_IMAGE = 'node:20';

const num = (v: Literal | undefined): number | undefined => (typeof v === 'number' ? v : undefined);

/** Whether the step runs on Batch (it carries @batch, written on it or attached with --with batch). */
export function isBatchStep(step: StepNode): boolean {
  return step.decorators.some((d) => d.name === 'batch');
}

/** @batch options win over @resources, which win over .flowrc and the defaults. */
export function batchStepSettings(step: StepNode, config: BatchConfig | undefined, file: string): BatchStepSettings {
  const batch = step.decorators.find((d) => d.name === 'batch')?.options ?? {};
  const resources = step.decorators.find((d) => d.name === 'resources')?.options ?? {};
  const queue = (typeof batch.queue === 'string' ? batch.queue : undefined) ?? config?.queue;
  if (!queue) {
    throw new UsageError('BATCH_NO_QUEUE', `Step ${step.name} runs on AWS Batch but no job queue is named.`, {
      file, step: step.name, fix: 'Set "batch": { "queue": "<queue>" } in .flowrc, FLOW_BATCH_QUEUE, or --with batch:queue=<queue>.',
    });
  }
  return {
    queue,
    image: (typeof batch.image === 'string' ? batch.image : undefined) ?? config?.image ?? DEFAULT_IMAGE,
    cpu: num(batch.cpu) ?? num(resources.cpu) ?? DEFAULT_CPU,
    memory: num(batch.memory) ?? num(resources.memory) ?? DEFAULT_MEMORY_MIB,
    gpu: num(batch.gpu) ?? num(resources.gpu) ?? 0,
  };
}

/** Batch resource requirements (VCPU, MEMORY in MiB, GPU) as the API spells them. */
export function resourceRequirements(s: BatchStepSettings): Array<{ type: 'VCPU' | 'MEMORY' | 'GPU'; value: string }> {
  const out: Array<{ type: 'VCPU' | 'MEMORY' | 'GPU'; value: string }> = [{ type: 'VCPU', value: String(s.cpu) }, { type: 'MEMORY', value: String(s.memory) }];
  if (s.gpu > 0) out.push({ type: 'GPU', value: String(s.gpu) });
  return out;
}

/**
 * A job definition's name is the hash of everything in it, so one (image, resources, role,
 * command) is registered once and every later run reuses it.
 */
export function jobDefinitionName(s: BatchStepSettings, command: string[], jobRoleArn: string | undefined): string {
  const key = JSON.stringify({ image: s.image, resources: resourceRequirements(s), command, jobRoleArn: jobRoleArn ?? null });
  return `flowrun-${sha256(key).slice(0, 20)}`;
}

/** Batch job names: up to 128 letters, digits, hyphens and underscores. */
export function jobName(flow: string, run: string, step: string): string {
  return `${flow}-${run}-${step}`.replace(/[^A-Za-z0-9_-]/g, '_').replace(/^[^A-Za-z0-9]/, 'f').slice(0, 128);
}

/**
 * The S3 store Batch tasks read and write: the run's store when it is on S3, else the mirror.
 * Without either a Batch task would have nowhere to find its inputs: a usage error (exit 2).
 */
export function batchStoreLocation(config: FlowConfig): S3Location {
  const location = mirrorLocation(config);
  if (location) return location;
  throw new UsageError('BATCH_NEEDS_S3', 'Running steps on AWS Batch needs an S3 store: Batch tasks run on other machines and read and write the store there, but this project\'s store is only on local disk.', {
    file: config.file, key: 'store',
    fix: 'Configure one in .flowrc: "store": "s3://<bucket>/<prefix>" (or "mirror": { "url": "s3://<bucket>/<prefix>" }), or set FLOW_STORE=s3://<bucket>/<prefix>.',
  });
}
