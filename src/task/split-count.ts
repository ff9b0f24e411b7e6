import { FlowError } from '../errors/index.js';
import type { TaskJob } from './protocol.js';

/**
 * How many tasks a foreach step fans out into: the length of the iterable its split field
 * holds once the step has run. Refuses what cannot be fanned out (not iterable, a string,
 * empty) and more items than --max-num-splits.
 */
export function splitCount(flow: object, job: Pick<TaskJob, 'step' | 'splitField' | 'maxNumSplits'>): number {
  const field = job.splitField!;
  const value = (flow as unknown as Record<string, unknown>)[field];
  const iterable = value !== null && value !== undefined && typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
  if (!iterable || typeof value === 'string') {
    throw new FlowError('FOREACH_NOT_ITERABLE', `Foreach variable this.${field} in step ${job.step} is not iterable (it is ${value === null ? 'null' : typeof value}).`, {
      step: job.step,
      artifact: field,
      fix: `Assign an array (or another iterable) to this.${field} before calling next().`,
    });
  }
  const count = Array.isArray(value) ? value.length : Array.from(value as Iterable<unknown>).length;
  if (count === 0) {
    throw new FlowError('FOREACH_EMPTY', `Foreach variable this.${field} in step ${job.step} is empty, so there is nothing to fan out over.`, {
      step: job.step,
      artifact: field,
      fix: `Make sure this.${field} has at least one item, or skip the foreach.`,
    });
  }
  if (count > job.maxNumSplits) {
    throw new FlowError('FOREACH_TOO_MANY', `Step ${job.step} fans out over ${count} items of this.${field}, more than --max-num-splits (${job.maxNumSplits}).`, {
      step: job.step,
      artifact: field,
      fix: `Raise the limit with --max-num-splits ${count}, or split the work into fewer, larger items.`,
    });
  }
  return count;
}
