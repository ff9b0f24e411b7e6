import { defineDecorator } from '../define.js';
import { option } from '../option.js';

/**
 * @catchError: once the attempts are spent, the scheduler stores the error in `var` and the flow
 * goes on (runtime/decisions.ts); `printException: false` keeps the caught error out of the log
 * and the progress output.
 */
export const catchErrorDecorator = defineDecorator({
  name: 'catchError',
  target: 'step',
  summary: 'Store a task failure in an artifact and let the flow continue.',
  options: {
    var: option.string('artifact that receives the error'),
    printException: option.boolean('print the error to the log (default true)'),
  },
  hooks: {
    taskSettings(o, s) {
      s.catchVar = o.var ?? 'exception';
      s.printException = o.printException !== false;
    },
  },
});
