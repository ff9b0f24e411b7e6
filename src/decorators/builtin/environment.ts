import { defineDecorator } from '../define.js';
import { requiredStringRecord } from '../option.js';

/** @environment: variables set in the task's process; they change what it computes, so they key the step cache. */
export const environmentDecorator = defineDecorator({
  name: 'environment',
  target: 'step',
  summary: 'Environment variables set while the task runs.',
  options: { vars: requiredStringRecord('name → value') },
  hooks: {
    taskSettings(o, s) {
      s.env = { ...s.env, ...o.vars };
    },
    changesResult: true,
  },
});
