import { registerBackend } from '../runtime/backends.js';
import { BATCH_BACKEND } from './settings.js';

// Steps whose decorators select this backend (@batch) run on AWS Batch; the AWS SDK is loaded only by runs that have one.
registerBackend({
  name: BATCH_BACKEND,
  prepare: async (config, graph) => {
    const plan = await (await import('./setup.js')).prepareBatch(config, graph);
    if (!plan) throw new Error('prepareBatch found no @batch step after a step selected it');
    return plan;
  },
});
