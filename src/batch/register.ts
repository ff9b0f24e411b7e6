import { registerBackend } from '../runtime/backends.js';
import { isBatchStep } from './settings.js';

// @batch steps run on AWS Batch; the AWS SDK is loaded only by runs that have one.
registerBackend({
  name: 'batch',
  takes: isBatchStep,
  prepare: async (config, graph) => {
    const plan = await (await import('./setup.js')).prepareBatch(config, graph);
    if (!plan) throw new Error('prepareBatch found no @batch step after isBatchStep did');
    return plan;
  },
});
