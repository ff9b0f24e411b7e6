import { defineDecorator } from '../define.js';

/** @timeout: the scheduler starts a clock when a worker takes the attempt and aborts it when it rings. */
export const timeoutDecorator = defineDecorator({
  name: 'timeout',
  target: 'step',
  summary: 'Kill an attempt that runs longer than the limit.',
  options: {
    seconds: { type: 'number', min: 0, help: 'seconds' },
    minutes: { type: 'number', min: 0, help: 'minutes' },
    hours: { type: 'number', min: 0, help: 'hours' },
  },
  hooks: {
    taskSettings(o, s) {
      const seconds = (o.seconds ?? 0) + 60 * (o.minutes ?? 0) + 3600 * (o.hours ?? 0);
      if (seconds > 0) s.timeoutMs = seconds * 1000;
    },
  },
});
