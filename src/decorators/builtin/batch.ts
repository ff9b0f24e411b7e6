import { defineDecorator } from '../define.js';
import { option } from '../option.js';

/** @batch: selects the backend the Batch module registers (batch/register.ts), which reads these options. */
export const batchDecorator = defineDecorator({
  name: 'batch',
  target: 'step',
  summary: 'Run this step on AWS Batch.',
  options: {
    queue: option.string('job queue'),
    image: option.string('container image with Node >= 20'),
    cpu: option.number('vCPUs', { min: 0 }),
    memory: option.integer('memory in MiB', { min: 1 }),
    gpu: option.integer('GPUs', { min: 0 }),
    sharedMemory: option.integer('/dev/shm size in MiB (EC2)', { min: 1 }),
    tmpfs: option.stringRecord('container path → tmpfs size in MiB (EC2)'),
    efs: option.stringRecord("container path → 'fs-id' or 'fs-id:/root/dir' (an EFS volume)"),
    hostVolumes: option.stringRecord('container path → host path (EC2)'),
    ulimits: option.stringRecord("name → 'limit' or 'soft:hard', e.g. { nofile: '65536' } (EC2)"),
    logOptions: option.stringRecord('awslogs log driver options, e.g. { "awslogs-group": "/flows" }'),
    tags: option.stringRecord('tags of the jobs (besides flowrun:flow/run/step)'),
    privileged: option.boolean('run the container privileged (EC2)'),
    ephemeralStorage: option.integer('disk in GiB, 21-200 (Fargate)', { min: 21 }),
    hostRetries: option.integer('Batch retries when the host goes away (Spot reclaim), not counted by @retry (default 3)', { min: 0 }),
  },
  hooks: { backend: 'batch' },
});
