import type { DecoratorSpec, OptionSpecs } from './types.js';
import { paramDecorator } from './builtin/param.js';
import { includeFileDecorator } from './builtin/include-file.js';
import { retryDecorator } from './builtin/retry.js';
import { timeoutDecorator } from './builtin/timeout.js';
import { catchErrorDecorator } from './builtin/catch-error.js';
import { resourcesDecorator } from './builtin/resources.js';
import { batchDecorator } from './builtin/batch.js';
import { npmBaseDecorator, npmDecorator } from './builtin/npm.js';
import { condaBaseDecorator, condaDecorator } from './builtin/conda.js';
import { environmentDecorator } from './builtin/environment.js';
import { cardDecorator } from './builtin/card.js';
import { cacheDecorator } from './builtin/cache.js';

/**
 * Every step and flow decorator of the contract (DESIGN §2), one file each under builtin/ with
 * its option spec and its hooks. Options are validated against the specs both statically
 * (`flow check`) and when the decorator runs; behaviour is attached through hooks (types.ts),
 * never by special-casing a name elsewhere. The order is the one messages list them in.
 */
export const DECORATOR_SPECS: readonly DecoratorSpec<OptionSpecs>[] = [
  paramDecorator,
  includeFileDecorator,
  retryDecorator,
  timeoutDecorator,
  catchErrorDecorator,
  resourcesDecorator,
  batchDecorator,
  npmDecorator,
  condaDecorator,
  environmentDecorator,
  cardDecorator,
  cacheDecorator,
  npmBaseDecorator,
  condaBaseDecorator,
];
