import type { BatchConfig, FlowConfig } from '../config/config.js';
import type { Literal } from '../decorators/types.js';
import { optionsOf, stepBackend } from '../decorators/hooks.js';
import { batchDecorator } from '../decorators/builtin/batch.js';
import { resourcesDecorator } from '../decorators/builtin/resources.js';
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
  /** Batch-level retries when the host goes away (Spot reclaim); @retry is not spent on them. */
  hostRetries: number;
  /** The container options of @batch, parsed. */
  options: ContainerOptions;
}

export interface ContainerOptions {
  sharedMemory?: number;
  tmpfs?: Record<string, number>;
  efs?: Record<string, string>;
  hostVolumes?: Record<string, string>;
  ulimits?: Record<string, { soft: number; hard: number }>;
  logOptions?: Record<string, string>;
  tags?: Record<string, string>;
  privileged?: boolean;
  ephemeralStorage?: number;
}

const DEFAULT_HOST_RETRIES = 3;

/** Metaflow's defaults for a Batch task (1 vCPU, 4 GiB) — what its users expect. */
const DEFAULT_CPU = 1;
const DEFAULT_MEMORY_MIB = 4096;
export const DEFAULT_IMAGE = 'node:20';

const num = (v: Literal | undefined): number | undefined => (typeof v === 'number' ? v : undefined);

/** The backend's name, as @batch's backend hook selects it. */
export const BATCH_BACKEND = 'batch';

/** Whether the step runs on Batch (it carries @batch, written on it or attached with --with batch). */
export function isBatchStep(step: StepNode): boolean {
  return stepBackend(step.decorators) === BATCH_BACKEND;
}

/** @batch options win over @resources, which win over .flowrc and the defaults. */
export function batchStepSettings(step: StepNode, config: BatchConfig | undefined, file: string): BatchStepSettings {
  const batch: Record<string, Literal> = optionsOf(step.decorators, batchDecorator) ?? {};
  const resources: Record<string, Literal> = optionsOf(step.decorators, resourcesDecorator) ?? {};
  const queue = (typeof batch.queue === 'string' ? batch.queue : undefined) ?? config?.queue;
  if (!queue) {
    throw new UsageError('BATCH_NO_QUEUE', `Step ${step.name} runs on AWS Batch but no job queue is named.`, {
      file,
      step: step.name,
      fix: 'Set "batch": { "queue": "<queue>" } in .flowrc, FLOW_BATCH_QUEUE, or --with batch:queue=<queue>.',
    });
  }
  return {
    queue,
    image: (typeof batch.image === 'string' ? batch.image : undefined) ?? config?.image ?? DEFAULT_IMAGE,
    cpu: num(batch.cpu) ?? num(resources.cpu) ?? DEFAULT_CPU,
    memory: num(batch.memory) ?? num(resources.memory) ?? DEFAULT_MEMORY_MIB,
    gpu: num(batch.gpu) ?? num(resources.gpu) ?? 0,
    hostRetries: num(batch.hostRetries) ?? DEFAULT_HOST_RETRIES,
    ...(typeof batch.logOptions === 'object' && batch.logOptions && !Array.isArray(batch.logOptions) && typeof (batch.logOptions as Record<string, unknown>)['awslogs-group'] === 'string' ? { logGroup: (batch.logOptions as Record<string, string>)['awslogs-group'] } : {}),
    options: containerOptions(step, batch, file),
  };
}

function containerOptions(step: StepNode, o: Record<string, Literal>, file: string): ContainerOptions {
  const rec = (k: string) => (o[k] && typeof o[k] === 'object' && !Array.isArray(o[k]) ? (o[k] as Record<string, string>) : undefined);
  const bad = (k: string, message: string) => new UsageError('BATCH_OPTION_INVALID', `Step ${step.name}: @batch({ ${k} }) ${message}`, { file, step: step.name, line: step.line, fix: `See the @batch options in the README (${k}).` });
  const mib = (k: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw bad(k, `needs sizes in MiB, got '${v}'.`);
    return n;
  };
  const out: ContainerOptions = {};
  if (num(o.sharedMemory) !== undefined) out.sharedMemory = num(o.sharedMemory)!;
  if (rec('tmpfs')) out.tmpfs = Object.fromEntries(Object.entries(rec('tmpfs')!).map(([p, v]) => [absolute('tmpfs', p), mib('tmpfs', v)]));
  if (rec('efs')) {
    for (const v of Object.values(rec('efs')!)) if (!/^fs-[0-9a-f]+(:\/.*)?$/.test(v)) throw bad('efs', `needs 'fs-<id>' or 'fs-<id>:/dir', got '${v}'.`);
    out.efs = Object.fromEntries(Object.entries(rec('efs')!).map(([p, v]) => [absolute('efs', p), v]));
  }
  if (rec('hostVolumes')) out.hostVolumes = Object.fromEntries(Object.entries(rec('hostVolumes')!).map(([p, v]) => [absolute('hostVolumes', p), absolute('hostVolumes', v)]));
  if (rec('ulimits')) {
    out.ulimits = Object.fromEntries(
      Object.entries(rec('ulimits')!).map(([name, v]) => {
        const m = /^(\d+)(?::(\d+))?$/.exec(v);
        if (!m) throw bad('ulimits', `needs 'limit' or 'soft:hard' for ${name}, got '${v}'.`);
        return [name, { soft: Number(m[1]), hard: Number(m[2] ?? m[1]) }];
      }),
    );
  }
  if (rec('logOptions')) out.logOptions = rec('logOptions');
  if (rec('tags')) out.tags = rec('tags');
  if (o.privileged === true) out.privileged = true;
  if (num(o.ephemeralStorage) !== undefined) out.ephemeralStorage = num(o.ephemeralStorage)!;
  return out;

  function absolute(k: string, p: string): string {
    if (!p.startsWith('/')) throw bad(k, `needs absolute paths, got '${p}'.`);
    return p;
  }
}

/** Batch resource requirements (VCPU, MEMORY in MiB, GPU) as the API spells them. */
export function resourceRequirements(s: BatchStepSettings): Array<{ type: 'VCPU' | 'MEMORY' | 'GPU'; value: string }> {
  const out: Array<{ type: 'VCPU' | 'MEMORY' | 'GPU'; value: string }> = [
    { type: 'VCPU', value: String(s.cpu) },
    { type: 'MEMORY', value: String(s.memory) },
  ];
  if (s.gpu > 0) out.push({ type: 'GPU', value: String(s.gpu) });
  return out;
}

/**
 * A job definition's name is the hash of everything in it, so one (image, resources, role,
 * command, options) is registered once and every later run reuses it.
 */
export function jobDefinitionName(body: unknown): string {
  return `flowrun-${sha256(JSON.stringify(body)).slice(0, 20)}`;
}

/** Batch job names: up to 128 letters, digits, hyphens and underscores. */
export function jobName(flow: string, run: string, step: string): string {
  return `${flow}-${run}-${step}`
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .replace(/^[^A-Za-z0-9]/, 'f')
    .slice(0, 128);
}

/**
 * The S3 store Batch tasks read and write: the run's store when it is on S3, else the mirror.
 * Without either a Batch task would have nowhere to find its inputs: a usage error (exit 2).
 */
export function batchStoreLocation(config: FlowConfig): S3Location {
  const location = mirrorLocation(config);
  if (location) return location;
  throw new UsageError('BATCH_NEEDS_S3', "Running steps on AWS Batch needs an S3 store: Batch tasks run on other machines and read and write the store there, but this project's store is only on local disk.", {
    file: config.file,
    key: 'store',
    fix: 'Configure one in .flowrc: "store": "s3://<bucket>/<prefix>" (or "mirror": { "url": "s3://<bucket>/<prefix>" }), or set FLOW_STORE=s3://<bucket>/<prefix>.',
  });
}
