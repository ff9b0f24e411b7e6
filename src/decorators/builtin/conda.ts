import { defineDecorator } from '../define.js';
import { option } from '../option.js';

/** The options of @conda and @condaBase. */
export const CONDA_OPTIONS = {
  packages: option.stringRecord('package name → match spec'),
  python: option.string('Python version'),
  channels: option.strings('channels, in priority order'),
} as const;

/** @conda: env/prepare.ts solves, locks and installs the step's conda environment (with --environment=conda). */
export const condaDecorator = defineDecorator({
  name: 'conda',
  target: 'step',
  summary: 'A locked conda environment for this step.',
  options: CONDA_OPTIONS,
  hooks: { environment: 'conda' },
});

/** @condaBase: the flow's default conda environment, under each step's @conda. */
export const condaBaseDecorator = defineDecorator({
  name: 'condaBase',
  target: 'flow',
  summary: 'Default @conda environment for every step.',
  options: CONDA_OPTIONS,
  hooks: { environment: 'conda' },
});
