import { hooksOf, type SpecLookup } from './hooks.js';
import { decoratorSpec } from './registry.js';
import type { DecoratorUse, StepSettings } from './types.js';

export type { StepSettings };

/** A step's runtime settings: the defaults, changed by each of its decorators' taskSettings hook. */
export function stepSettings(decorators: readonly DecoratorUse[], lookup: SpecLookup = decoratorSpec): StepSettings {
  const settings: StepSettings = { attempts: 1, retryDelayMs: 0, printException: true, env: {} };
  for (const d of decorators) hooksOf(d, lookup)?.taskSettings?.(d.options, settings);
  return settings;
}
