import { defineDecorator } from '../define.js';

/** @batch: selects the backend the Batch module registers (batch/register.ts), which reads these options. */
export const batchDecorator = defineDecorator({
  name: 'batch',
  target: 'step',
  summary: 'Run this step on AWS Batch.',
  options: {
    queue: { type: 'string', help: 'job queue' },
    image: { type: 'string', help: 'container image with Node >= 20' },
    cpu: { type: 'number', min: 0, help: 'vCPUs' },
    memory: { type: 'integer', min: 1, help: 'memory in MiB' },
    gpu: { type: 'integer', min: 0, help: 'GPUs' },
    sharedMemory: { type: 'integer', min: 1, help: '/dev/shm size in MiB (EC2)' },
    tmpfs: { type: 'record<string>', help: 'container path → tmpfs size in MiB (EC2)' },
    efs: { type: 'record<string>', help: "container path → 'fs-id' or 'fs-id:/root/dir' (an EFS volume)" },
    hostVolumes: { type: 'record<string>', help: 'container path → host path (EC2)' },
    ulimits: { type: 'record<string>', help: "name → 'limit' or 'soft:hard', e.g. { nofile: '65536' } (EC2)" },
    logOptions: { type: 'record<string>', help: 'awslogs log driver options, e.g. { "awslogs-group": "/flows" }' },
    tags: { type: 'record<string>', help: 'tags of the jobs (besides flowrun:flow/run/step)' },
    privileged: { type: 'boolean', help: 'run the container privileged (EC2)' },
    ephemeralStorage: { type: 'integer', min: 21, help: 'disk in GiB, 21-200 (Fargate)' },
    hostRetries: { type: 'integer', min: 0, help: 'Batch retries when the host goes away (Spot reclaim), not counted by @retry (default 3)' },
  },
  hooks: { backend: 'batch' },
});
