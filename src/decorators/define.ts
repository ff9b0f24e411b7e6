import type { DecoratorSpec, OptionSpecs } from './types.js';

/** One decorator: its spec and behaviour, with option types inferred from the spec's literals. */
export function defineDecorator<const O extends OptionSpecs>(spec: DecoratorSpec<O>): DecoratorSpec<O> {
  return spec;
}
