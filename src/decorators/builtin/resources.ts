import { defineDecorator } from '../define.js';
import { option } from '../option.js';

/**
 * @resources: locally, memory is the worker's V8 heap limit; a remote backend reads cpu, memory
 * and gpu for its machines (batch/settings.ts, under @batch's own).
 */
export const resourcesDecorator = defineDecorator({
  name: 'resources',
  target: 'step',
  summary: 'CPU, memory (MiB) and GPUs a task needs.',
  options: {
    cpu: option.number('vCPUs', { min: 0 }),
    memory: option.integer('memory in MiB', { min: 1 }),
    gpu: option.integer('GPUs', { min: 0 }),
  },
  hooks: {
    taskSettings(o, s) {
      s.heapMB = o.memory;
    },
  },
});
