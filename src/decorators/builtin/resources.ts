import { defineDecorator } from '../define.js';

/**
 * @resources: locally, memory is the worker's V8 heap limit; a remote backend reads cpu, memory
 * and gpu for its machines (batch/settings.ts, under @batch's own).
 */
export const resourcesDecorator = defineDecorator({
  name: 'resources',
  target: 'step',
  summary: 'CPU, memory (MiB) and GPUs a task needs.',
  options: {
    cpu: { type: 'number', min: 0, help: 'vCPUs' },
    memory: { type: 'integer', min: 1, help: 'memory in MiB' },
    gpu: { type: 'integer', min: 0, help: 'GPUs' },
  },
  hooks: {
    taskSettings(o, s) {
      s.heapMB = o.memory;
    },
  },
});
