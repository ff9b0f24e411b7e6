import { defineDecorator } from '../define.js';
import { option } from '../option.js';
import { PARAM_NOT_OPTIONS } from './param.js';

/** @includeFile: a parameter whose value is a path (task/includes.ts reads it when the run starts). */
export const includeFileDecorator = defineDecorator({
  name: 'includeFile',
  target: 'field',
  summary: 'A file input: the parameter value is a path, read when the run starts; its content is hashed into the store and the step sees the content.',
  options: {
    help: option.string('one line shown by flow show and flow run --help'),
    required: option.boolean('the run fails before starting when no path is given'),
    binary: option.boolean('the step sees a Buffer instead of UTF-8 text'),
  },
  notOptions: PARAM_NOT_OPTIONS,
});
