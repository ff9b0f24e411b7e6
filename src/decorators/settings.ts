import type { StepNode } from '../graph/types.js';
import { decoratorSpec } from './registry.js';
import type { StepSettings } from './types.js';

export type { StepSettings };

/** A step's runtime settings: the defaults, changed by each of its decorators' taskSettings hook. */
export function stepSettings(step: StepNode): StepSettings {
  const settings: StepSettings = { attempts: 1, retryDelayMs: 0, printException: true, env: {} };
  for (const d of step.decorators) decoratorSpec(d.name)?.hooks?.taskSettings?.(d.options, settings);
  return settings;
}
