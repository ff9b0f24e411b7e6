import { defineDecorator } from '../define.js';

/** The options of @conda and @condaBase. */
export const CONDA_OPTIONS = {
  packages: { type: 'record<string>', help: 'package name → match spec' },
  python: { type: 'string', help: 'Python version' },
  channels: { type: 'string[]', help: 'channels, in priority order' },
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
