/**
 * Compute environments behind the job queues, in DescribeComputeEnvironments' shape, and the
 * checks AWS Batch makes against them: a job definition's platform must match its queue's, a
 * Fargate definition needs an execution role and has no GPUs, and evaluateOnExit decides whether
 * a failed attempt is retried.
 */
import { BatchApiError } from './emulator.js';

export type ComputeType = 'EC2' | 'SPOT' | 'FARGATE' | 'FARGATE_SPOT';

export interface ComputeEnvironmentSpec {
  name: string;
  type: ComputeType;
  maxvCpus?: number;
  /** EC2/SPOT only; default ['optimal']. */
  instanceTypes?: string[];
}

/** The default: one EC2 environment ("local") behind every queue not given others. */
export const LOCAL_CE: ComputeEnvironmentSpec = { name: 'local', type: 'EC2', maxvCpus: 256, instanceTypes: ['optimal'] };

export const isFargate = (t: ComputeType) => t === 'FARGATE' || t === 'FARGATE_SPOT';

export function computeEnvironmentDetail(ce: ComputeEnvironmentSpec, region: string, account: string) {
  return {
    computeEnvironmentName: ce.name,
    computeEnvironmentArn: `arn:aws:batch:${region}:${account}:compute-environment/${ce.name}`,
    type: 'MANAGED',
    state: 'ENABLED',
    status: 'VALID',
    containerOrchestrationType: 'ECS',
    computeResources: {
      type: ce.type,
      maxvCpus: ce.maxvCpus ?? 256,
      minvCpus: 0,
      ...(isFargate(ce.type) ? {} : { instanceTypes: ce.instanceTypes ?? ['optimal'], allocationStrategy: 'BEST_FIT_PROGRESSIVE' }),
      subnets: ['subnet-local'],
      securityGroupIds: ['sg-local'],
    },
  };
}

interface DefinitionShape {
  platformCapabilities?: string[];
  containerProperties: { executionRoleArn?: string; resourceRequirements?: Array<{ type: string; value: string }> };
}

/** RegisterJobDefinition's checks for Fargate definitions. */
export function checkDefinition(def: DefinitionShape): void {
  const caps = def.platformCapabilities ?? ['EC2'];
  if (caps.some((c) => c !== 'EC2' && c !== 'FARGATE')) throw new BatchApiError('ClientException', `platformCapabilities ${caps.join(',')} is invalid: EC2 or FARGATE.`);
  if (!caps.includes('FARGATE')) return;
  if (!def.containerProperties.executionRoleArn) throw new BatchApiError('ClientException', 'Fargate job definitions require an executionRoleArn.');
  if (def.containerProperties.resourceRequirements?.some((r) => r.type === 'GPU')) throw new BatchApiError('ClientException', 'GPU resource requirements are not supported on Fargate.');
}

/** SubmitJob's check: the definition's platform must be the queue's. */
export function checkPlatform(def: DefinitionShape, queue: string, ces: ComputeEnvironmentSpec[]): void {
  const wantsFargate = (def.platformCapabilities ?? ['EC2']).includes('FARGATE');
  const fargate = ces.some((c) => isFargate(c.type));
  if (wantsFargate !== fargate) throw new BatchApiError('ClientException', `Job definition's platform capabilities (${wantsFargate ? 'FARGATE' : 'EC2'}) are not compatible with job queue ${queue} (${fargate ? 'FARGATE' : 'EC2'}).`);
}

export interface EvaluateOnExit {
  onStatusReason?: string;
  onReason?: string;
  onExitCode?: string;
  action: string;
}

/** Whether evaluateOnExit retries an attempt (first matching rule wins; none matching: retry, as AWS documents). */
export function retryAllowed(rules: EvaluateOnExit[] | undefined, a: { statusReason?: string; reason?: string; exitCode?: number }): boolean {
  if (!rules?.length) return true;
  const glob = (pattern: string, value: string | undefined) =>
    new RegExp(
      `^${pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
      's',
    ).test(value ?? '');
  for (const r of rules) {
    if (r.onStatusReason !== undefined && !glob(r.onStatusReason, a.statusReason)) continue;
    if (r.onReason !== undefined && !glob(r.onReason, a.reason)) continue;
    if (r.onExitCode !== undefined && !glob(r.onExitCode, a.exitCode === undefined ? undefined : String(a.exitCode))) continue;
    return r.action.toUpperCase() === 'RETRY';
  }
  return true;
}
