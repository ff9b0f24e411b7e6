import { describe, expect, it } from 'vitest';
import { heapFor } from '../../src/batch/backend.js';
import { jobDefinitionBody, largestInstanceMiB, retryStrategy, validateForQueue } from '../../src/batch/definition.js';
import { type BatchStepSettings, batchStepSettings } from '../../src/batch/settings.js';
import type { StepNode } from '../../src/graph/types.js';

const step = (options: Record<string, unknown>): StepNode => ({ name: 'fit', line: 3, async: false, takesInputs: false, transitions: [], next: [], type: 'linear', decorators: [{ name: 'batch', options: options as never }], assigns: [], in: [] }) as unknown as StepNode;
const settings = (options: Record<string, unknown>): BatchStepSettings => batchStepSettings(step({ queue: 'q', ...options }), undefined, 'flow.ts');
const EC2 = { name: 'q', platform: 'EC2' as const, instanceTypes: ['optimal'] };

describe('job definitions from @batch options', () => {
  it('EC2: tmpfs, EFS and host volumes, ulimits, privileged, log options; user tags stay on the job', () => {
    const s = settings({
      sharedMemory: 1024,
      tmpfs: { '/scratch': '2048' },
      efs: { '/data': 'fs-0abc:/shared' },
      hostVolumes: { '/cache': '/var/cache/flowrun' },
      ulimits: { nofile: '1024:65536', memlock: '8' },
      privileged: true,
      logOptions: { 'awslogs-group': '/flows', 'awslogs-stream-prefix': 'fr' },
      tags: { team: 'ml' },
    });
    const body = jobDefinitionBody(s, EC2, { command: ['node', '-e', 'x'], jobRoleArn: 'arn:role/job' });
    expect(body.platformCapabilities).toEqual(['EC2']);
    expect(body.containerProperties).toMatchObject({
      linuxParameters: { sharedMemorySize: 1024, tmpfs: [{ containerPath: '/scratch', size: 2048 }] },
      ulimits: [
        { name: 'nofile', softLimit: 1024, hardLimit: 65536 },
        { name: 'memlock', softLimit: 8, hardLimit: 8 },
      ],
      privileged: true,
      jobRoleArn: 'arn:role/job',
      volumes: [
        { name: 'host0', host: { sourcePath: '/var/cache/flowrun' } },
        { name: 'efs0', efsVolumeConfiguration: { fileSystemId: 'fs-0abc', rootDirectory: '/shared', transitEncryption: 'ENABLED' } },
      ],
      mountPoints: [
        { sourceVolume: 'host0', containerPath: '/cache', readOnly: false },
        { sourceVolume: 'efs0', containerPath: '/data', readOnly: false },
      ],
      logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': '/flows', 'awslogs-stream-prefix': 'fr' } },
    });
    expect(s.logGroup).toBe('/flows');
    expect(s.options.tags).toEqual({ team: 'ml' });
  });

  it('bad option values are usage errors naming the step and option', () => {
    expect(() => settings({ tmpfs: { scratch: '10' } })).toThrow(/Step fit: @batch\(\{ tmpfs \}\) needs absolute paths, got 'scratch'/);
    expect(() => settings({ efs: { '/d': 'nfs-1' } })).toThrow(/needs 'fs-<id>' or 'fs-<id>:\/dir'/);
    expect(() => settings({ ulimits: { nofile: 'lots' } })).toThrow(/needs 'limit' or 'soft:hard' for nofile/);
  });

  it('EC2-only options and GPUs on Fargate, a missing execution role, ephemeralStorage on EC2 are refused', () => {
    const fargate = { name: 'fq', platform: 'FARGATE' as const, instanceTypes: [] };
    const d = { command: [], executionRoleArn: 'arn:exec' };
    expect(() => validateForQueue('fit', settings({ cpu: 1, memory: 2048, sharedMemory: 64 }), fargate, d, 'flow.ts')).toThrow(/uses @batch\(\{ sharedMemory \}\), which Fargate \(queue fq\) does not support/);
    expect(() => validateForQueue('fit', settings({ cpu: 1, memory: 2048 }), fargate, { command: [] }, 'flow.ts')).toThrow(/job queue fq runs on Fargate, whose jobs need a task execution role/);
    expect(() => validateForQueue('fit', settings({ ephemeralStorage: 50 }), EC2, d, 'flow.ts')).toThrow(/sizes a Fargate task's disk, but queue q runs on EC2/);
    expect(() => validateForQueue('fit', settings({ cpu: 1, memory: 2048 }), fargate, d, 'flow.ts')).not.toThrow();
  });

  it("the worker heap follows the job memory: a 64 GiB job is not stopped at V8's default heap", () => {
    expect(heapFor(65536)).toBe(64512);
    expect(heapFor(4096)).toBe(3072);
    expect(heapFor(1024)).toBe(768);
  });

  it('Batch retries only a vanished host; the largest instance is read from the instance types', () => {
    expect(retryStrategy(settings({}))).toEqual({
      attempts: 4,
      evaluateOnExit: [
        { onStatusReason: 'Host EC2*', action: 'RETRY' },
        { onStatusReason: 'Your Spot Task was interrupted*', action: 'RETRY' },
        { onStatusReason: '*', action: 'EXIT' },
      ],
    });
    expect(retryStrategy(settings({ hostRetries: 0 })).attempts).toBe(1);
    expect(largestInstanceMiB(['m5.large', 'c5.4xlarge'])).toBe(32 * 1024);
    expect(largestInstanceMiB(['r5'])).toBe(768 * 1024);
    expect(largestInstanceMiB(['optimal'])).toBe(768 * 1024);
    expect(largestInstanceMiB(['weird.type'])).toBeUndefined();
  });
});
