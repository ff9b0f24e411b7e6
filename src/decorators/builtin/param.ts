import { defineDecorator } from '../define.js';
import { option } from '../option.js';

/** What Metaflow's Parameter(...) and argparse users write in @param, and the flowrun way. */
export const PARAM_NOT_OPTIONS: Readonly<Record<string, string>> = {
  default: "A parameter's default is the value its field starts with: @param({ help: '...' }) alpha = 0.1;",
  name: 'A parameter is named after its field: @param() learningRate = 0.1 is --learning-rate (or --learningRate).',
  description: "Write the description as help: @param({ help: '...' }).",
  choices: 'Check allowed values in the first step and throw an Error naming them.',
};

/** @param: read by the static graph (graph/extract-class.ts) and the flow object's fields; no runtime hooks. */
export const paramDecorator = defineDecorator({
  name: 'param',
  target: 'field',
  summary: 'A run parameter, set with --NAME on the command line; its type comes from the default.',
  options: {
    help: option.string('one line shown by flow show and flow run --help'),
    type: option.oneOf(['number', 'string', 'boolean', 'json'], 'needed when the default is not a literal', {
      float: 'number',
      int: 'number',
      integer: 'number',
      double: 'number',
      str: 'string',
      text: 'string',
      bool: 'boolean',
      list: 'json',
      array: 'json',
      object: 'json',
      dict: 'json',
    }),
    required: option.boolean('the run fails before starting when the value is not given'),
  },
  notOptions: PARAM_NOT_OPTIONS,
});
