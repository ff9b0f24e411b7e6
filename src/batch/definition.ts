import type { RegisterJobDefinitionCommandInput, RetryStrategy } from '@aws-sdk/client-batch';
import { UsageError } from '../errors/index.js';
import { DEFAULT_LOG_GROUP } from './log-group.js';
import { type BatchStepSettings, resourceRequirements } from './settings.js';

export type Platform = 'EC2' | 'SPOT' | 'FARGATE' | 'FARGATE_SPOT';

/** What a job queue can run, from its compute environments (DescribeJobQueues + DescribeComputeEnvironments). */
export interface QueueInfo {
  name: string;
  platform: Platform;
  /** Largest vCPUs of any of its compute environments. */
  maxvCpus?: number;
  /** Memory of the largest instance its compute environments may launch (EC2), when the instance types tell. */
  maxMemoryMiB?: number;
  instanceTypes: string[];
}

export const isFargate = (p: Platform) => p === 'FARGATE' || p === 'FARGATE_SPOT';

/** Roles and network settings of job definitions, from .flowrc batch. */
export interface DefinitionSettings {
  command: string[];
  jobRoleArn?: string;
  /** Fargate's task execution role (pulls the image, writes the logs). */
  executionRoleArn?: string;
  /** Fargate: a public IP for the task (needed in a public subnet without a NAT gateway). */
  assignPublicIp?: boolean;
}

/** Fargate's allowed (vCPU → memory MiB) combinations, as AWS documents them. */
const FARGATE: Array<[number, number[]]> = [
  [0.25, [512, 1024, 2048]],
  [0.5, range(1024, 4096, 1024)],
  [1, range(2048, 8192, 1024)],
  [2, range(4096, 16384, 1024)],
  [4, range(8192, 30720, 1024)],
  [8, range(16384, 61440, 4096)],
  [16, range(32768, 122880, 8192)],
];

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

/**
 * Refuses, before any job exists, what the queue cannot run: a GPU or an EC2-only option on
 * Fargate, a Fargate size AWS does not offer, more vCPUs or memory than the queue's compute
 * environments have, Fargate without an execution role (exit 2, naming the step and queue).
 */
export function validateForQueue(step: string, s: BatchStepSettings, q: QueueInfo, d: DefinitionSettings, file: string): void {
  const fail = (message: string, fix: string) => {
    throw new UsageError('BATCH_INVALID_FOR_QUEUE', `Step ${step}: ${message}`, { file, step, fix });
  };
  if (isFargate(q.platform)) {
    if (s.gpu > 0) fail(`asks for ${s.gpu} GPU, but job queue ${q.name} runs on ${q.platform}, which has no GPUs.`, 'Send GPU steps to a queue with a GPU compute environment (@batch({ queue })); templates/aws/batch-cloudformation.yaml creates one.');
    const ec2Only = (['sharedMemory', 'tmpfs', 'hostVolumes', 'privileged', 'ulimits'] as const).filter((k) => s.options[k] !== undefined);
    if (ec2Only.length) fail(`uses ${ec2Only.map((k) => `@batch({ ${k} })`).join(', ')}, which Fargate (queue ${q.name}) does not support.`, 'Drop the option or use an EC2 queue.');
    const sizes = FARGATE.find(([cpu]) => cpu === s.cpu)?.[1];
    if (!sizes?.includes(s.memory)) {
      fail(`asks for ${s.cpu} vCPU and ${s.memory} MiB, which is not a Fargate size (queue ${q.name}).`, `Fargate offers ${FARGATE.map(([c, m]) => `${c} vCPU: ${m[0]}-${m.at(-1)} MiB`).join('; ')}; pick one with @resources/@batch.`);
    }
    if (!d.executionRoleArn) fail(`job queue ${q.name} runs on Fargate, whose jobs need a task execution role.`, 'Set batch.executionRoleArn in .flowrc (templates/aws/batch-cloudformation.yaml outputs one).');
  } else if (s.options.ephemeralStorage !== undefined) {
    fail(`@batch({ ephemeralStorage }) sizes a Fargate task's disk, but queue ${q.name} runs on ${q.platform}.`, "On EC2 the disk is the instance's: use a launch template with a larger volume (templates/aws/batch-cloudformation.yaml has one).");
  }
  if (q.maxvCpus !== undefined && s.cpu > q.maxvCpus) fail(`asks for ${s.cpu} vCPU, more than job queue ${q.name} can ever run (maxvCpus ${q.maxvCpus}).`, "Ask for fewer vCPUs, or raise the compute environment's maxvCpus.");
  if (q.maxMemoryMiB !== undefined && s.memory > q.maxMemoryMiB) {
    fail(`asks for ${s.memory} MiB, more than the largest instance of job queue ${q.name} has (${q.maxMemoryMiB} MiB; instance types ${q.instanceTypes.join(', ')}): it would stay RUNNABLE forever.`, 'Ask for less memory, or add larger instance types to the compute environment.');
  }
}

/** The job definition for a step on a queue of this platform (its name is the hash of this body). */
export function jobDefinitionBody(s: BatchStepSettings, q: QueueInfo, d: DefinitionSettings): Omit<RegisterJobDefinitionCommandInput, 'jobDefinitionName'> {
  const o = s.options;
  const fargate = isFargate(q.platform);
  const volumes = [
    ...Object.entries(o.hostVolumes ?? {}).map(([containerPath, sourcePath], i) => ({ name: `host${i}`, containerPath, volume: { name: `host${i}`, host: { sourcePath } } })),
    ...Object.entries(o.efs ?? {}).map(([containerPath, spec], i) => {
      const [fileSystemId, rootDirectory] = spec.split(':');
      return { name: `efs${i}`, containerPath, volume: { name: `efs${i}`, efsVolumeConfiguration: { fileSystemId, ...(rootDirectory ? { rootDirectory } : {}), transitEncryption: 'ENABLED' as const } } };
    }),
  ];
  const linuxParameters = {
    ...(o.sharedMemory !== undefined ? { sharedMemorySize: o.sharedMemory } : {}),
    ...(o.tmpfs ? { tmpfs: Object.entries(o.tmpfs).map(([containerPath, size]) => ({ containerPath, size })) } : {}),
  };
  return {
    type: 'container',
    platformCapabilities: [fargate ? 'FARGATE' : 'EC2'],
    containerProperties: {
      image: s.image,
      command: d.command,
      resourceRequirements: resourceRequirements(s),
      ...(d.jobRoleArn ? { jobRoleArn: d.jobRoleArn } : {}),
      ...(fargate
        ? {
            executionRoleArn: d.executionRoleArn,
            networkConfiguration: { assignPublicIp: d.assignPublicIp === false ? 'DISABLED' : 'ENABLED' },
            fargatePlatformConfiguration: { platformVersion: 'LATEST' },
            ...(o.ephemeralStorage !== undefined ? { ephemeralStorage: { sizeInGiB: o.ephemeralStorage } } : {}),
          }
        : {}),
      ...(Object.keys(linuxParameters).length ? { linuxParameters } : {}),
      ...(o.ulimits ? { ulimits: Object.entries(o.ulimits).map(([name, l]) => ({ name, softLimit: l.soft, hardLimit: l.hard })) } : {}),
      ...(o.privileged ? { privileged: true } : {}),
      ...(volumes.length ? { volumes: volumes.map((v) => v.volume), mountPoints: volumes.map((v) => ({ sourceVolume: v.name, containerPath: v.containerPath, readOnly: false })) } : {}),
      logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': s.logGroup ?? DEFAULT_LOG_GROUP, ...o.logOptions } },
    },
    propagateTags: true,
    tags: { 'flowrun:definition': 'true' },
  };
}

/**
 * Batch-level retries of one flowrun attempt: only when the host went away (a Spot reclaim, an
 * instance terminated under the job). They are the infrastructure's failures, so they do not
 * spend the step's @retry; every other exit ends the job, and flowrun's @retry decides.
 */
export function retryStrategy(s: BatchStepSettings): RetryStrategy {
  return {
    attempts: 1 + s.hostRetries,
    evaluateOnExit: [
      { onStatusReason: 'Host EC2*', action: 'RETRY' },
      { onStatusReason: 'Your Spot Task was interrupted*', action: 'RETRY' },
      { onStatusReason: '*', action: 'EXIT' },
    ],
  };
}

/** GiB of memory per vCPU of the EC2 families Batch uses, by the family's first letter. */
const GIB_PER_VCPU: Record<string, number> = { c: 2, m: 4, r: 8, x: 16, z: 8, t: 4, g: 4, p: 7.5, i: 8, d: 8 };

/**
 * The memory (MiB) of the largest of these instance types, or undefined when one cannot be told
 * (no check then). `optimal` is C, M and R instances up to r-family 24xlarge; a bare family
 * (`m5`) is its largest size; `m5.2xlarge` is 8 vCPU × 4 GiB.
 */
export function largestInstanceMiB(types: string[]): number | undefined {
  let max = 0;
  for (const t of types) {
    if (t === 'optimal') {
      max = Math.max(max, 768 * 1024);
      continue;
    }
    const m = /^([a-z]+)(\d+[a-z-]*)(?:\.(\w+))?$/.exec(t);
    const perVcpu = m ? GIB_PER_VCPU[m[1]![0]!] : undefined;
    if (!m || perVcpu === undefined) return undefined;
    const size = m[3];
    const vcpus = size === undefined || size === 'metal' ? 96 : size === 'medium' ? 1 : size === 'large' ? 2 : size === 'xlarge' ? 4 : /^(\d+)xlarge$/.test(size) ? 4 * Number(/^(\d+)/.exec(size)![1]) : undefined;
    if (vcpus === undefined) return undefined;
    max = Math.max(max, vcpus * perVcpu * 1024);
  }
  return max || undefined;
}
