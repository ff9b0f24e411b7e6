import { defineDecorator } from '../define.js';
import { option } from '../option.js';

const DEFAULT_TIMES = 3;

/** @retry: more attempts for the scheduler's loop (runtime/decisions.ts afterFailure), spaced by a wait. */
export const retryDecorator = defineDecorator({
  name: 'retry',
  target: 'step',
  summary: 'Re-run a failed task, recording each attempt.',
  options: {
    times: option.integer('extra attempts after the first (default 3)', { min: 0 }),
    minutesBetween: option.number('minutes to wait between attempts (default 0)', { min: 0 }),
  },
  hooks: {
    taskSettings(o, s) {
      s.attempts = 1 + (o.times ?? DEFAULT_TIMES);
      s.retryDelayMs = 60_000 * (o.minutesBetween ?? 0);
    },
  },
});
