/**
 * The subset of the AWS Batch data model the local endpoint keeps, in the wire shapes
 * @aws-sdk/client-batch sends and reads (REST-JSON, camelCase, epoch-millisecond times).
 */

export type JobStatus = 'SUBMITTED' | 'PENDING' | 'RUNNABLE' | 'STARTING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';
export const JOB_STATUSES: readonly JobStatus[] = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'];

export interface KeyValue {
  name: string;
  value: string;
}
export interface ResourceRequirement {
  type: 'VCPU' | 'MEMORY' | 'GPU';
  value: string;
}

export interface ContainerProperties {
  image?: string;
  command?: string[];
  environment?: KeyValue[];
  resourceRequirements?: ResourceRequirement[];
  jobRoleArn?: string;
  vcpus?: number;
  memory?: number;
  logConfiguration?: { logDriver: string; options?: Record<string, string> };
  /** Host volumes (EC2 only, as on Batch): `host.sourcePath` on the instance. */
  volumes?: Array<{ name: string; host?: { sourcePath?: string } }>;
  /** Where each volume appears in the container. */
  mountPoints?: Array<{ sourceVolume: string; containerPath: string; readOnly?: boolean }>;
}

export interface JobDefinition {
  jobDefinitionName: string;
  jobDefinitionArn: string;
  revision: number;
  status: 'ACTIVE' | 'INACTIVE';
  type: string;
  containerProperties: ContainerProperties;
  retryStrategy?: { attempts?: number };
  timeout?: { attemptDurationSeconds?: number };
  parameters?: Record<string, string>;
  tags?: Record<string, string>;
  platformCapabilities?: string[];
  propagateTags?: boolean;
}

export interface AttemptDetail {
  container: { exitCode?: number; reason?: string; logStreamName?: string };
  startedAt?: number;
  stoppedAt?: number;
  statusReason?: string;
}

/** One job: a plain job, an array parent, or an array child (`parent:index`). */
export interface Job {
  jobId: string;
  jobArn: string;
  jobName: string;
  jobQueue: string;
  jobDefinition: string;
  status: JobStatus;
  statusReason?: string;
  createdAt: number;
  startedAt?: number;
  stoppedAt?: number;
  /** Epoch ms of the last status change (drives the state machine's pace). */
  changedAt: number;
  attempts: AttemptDetail[];
  /** Attempts allowed (retryStrategy.attempts, 1 by default). */
  maxAttempts: number;
  evaluateOnExit?: Array<{ onStatusReason?: string; onReason?: string; onExitCode?: string; action: string }>;
  attemptDurationSeconds?: number;
  container: ContainerProperties & { exitCode?: number; reason?: string; logStreamName?: string };
  parameters: Record<string, string>;
  tags?: Record<string, string>;
  dependsOn: Array<{ jobId: string; type?: string }>;
  /** Array parent: size; array child: index. */
  array?: { size: number } | { index: number; parent: string };
  /** Whether a terminate request has been made (the reason is in statusReason). */
  terminated?: boolean;
}

/** What a fault rule matches; every given field must match. */
export interface FaultMatch {
  /** Regular expression tested against the job name. */
  jobName?: string;
  arrayIndex?: number;
  /** 1-based attempt number. */
  attempt?: number;
}

/**
 * Fault injection. `fail`: the attempt exits 1 without running; `oom`: it is killed as out of
 * memory (exit 137); `stuck`: the job never leaves RUNNABLE (as when no compute environment
 * can place it); `host-terminated`: the instance goes away under the running attempt (a Spot
 * reclaim: no exit code, statusReason "Host EC2 (instance ...) terminated."); `times` limits how many attempts a rule hits (default: every match).
 */
export interface FaultRule {
  effect: 'fail' | 'oom' | 'stuck' | 'host-terminated';
  match?: FaultMatch;
  times?: number;
}

export interface FaultSettings {
  rules: FaultRule[];
  /** The next N DescribeJobs calls answer 429 ThrottlingException. */
  throttleDescribeJobs?: number;
}
