import type { DecoratorSpec, OptionSpecs } from './types.js';

/** One decorator: its spec and behaviour, with option types inferred from its option schemas. */
export function defineDecorator<const O extends OptionSpecs>(spec: DecoratorSpec<O>): DecoratorSpec<O> {
  return spec;
}
