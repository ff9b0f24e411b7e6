import { defineDecorator } from '../define.js';
import { option } from '../option.js';

/** @timeout: the scheduler starts a clock when a worker takes the attempt and aborts it when it rings. */
export const timeoutDecorator = defineDecorator({
  name: 'timeout',
  target: 'step',
  summary: 'Kill an attempt that runs longer than the limit.',
  options: {
    seconds: option.number('seconds', { min: 0 }),
    minutes: option.number('minutes', { min: 0 }),
    hours: option.number('hours', { min: 0 }),
  },
  hooks: {
    taskSettings(o, s) {
      const seconds = (o.seconds ?? 0) + 60 * (o.minutes ?? 0) + 3600 * (o.hours ?? 0);
      if (seconds > 0) s.timeoutMs = seconds * 1000;
    },
  },
});
