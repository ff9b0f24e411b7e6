import { defineDecorator } from '../define.js';
import { option } from '../option.js';

/** @cache: the step cache (cache/settings.ts) caches the step, or never does with enabled: false. */
export const cacheDecorator = defineDecorator({
  name: 'cache',
  target: 'step',
  summary: 'Reuse a task instead of running it when its code, environment, the params and inputs it reads and its seed (if it calls Math.random) are those of an earlier task (flow run --cache does it for every step).',
  options: {
    enabled: option.boolean('false: never cache this step, even with --cache (it has side effects: writes to a database, calls an API)'),
  },
  hooks: {
    cache: (o) => o.enabled !== false,
  },
});
