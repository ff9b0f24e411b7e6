import { defineDecorator } from '../define.js';
import { PARAM_NOT_OPTIONS } from './param.js';

/** @includeFile: a parameter whose value is a path (task/includes.ts reads it when the run starts). */
export const includeFileDecorator = defineDecorator({
  name: 'includeFile',
  target: 'field',
  summary: 'A file input: the parameter value is a path, read when the run starts; its content is hashed into the store and the step sees the content.',
  options: {
    help: { type: 'string', help: 'one line shown by flow show and flow run --help' },
    required: { type: 'boolean', help: 'the run fails before starting when no path is given' },
    binary: { type: 'boolean', help: 'the step sees a Buffer instead of UTF-8 text' },
  },
  notOptions: PARAM_NOT_OPTIONS,
});
