import { defineDecorator } from '../define.js';
import { option } from '../option.js';

/** The options of @npm and @npmBase. */
export const NPM_OPTIONS = {
  packages: option.stringRecord('package name → semver range'),
  node: option.string('Node.js version range'),
} as const;

/** @npm: env/prepare.ts resolves, locks and installs the step's npm environment (over @npmBase's). */
export const npmDecorator = defineDecorator({
  name: 'npm',
  target: 'step',
  summary: 'A locked npm environment for this step.',
  options: NPM_OPTIONS,
  hooks: { environment: 'npm' },
});

/** @npmBase: the flow's default npm environment, under each step's @npm. */
export const npmBaseDecorator = defineDecorator({
  name: 'npmBase',
  target: 'flow',
  summary: 'Default @npm environment for every step.',
  options: NPM_OPTIONS,
  hooks: { environment: 'npm' },
});
