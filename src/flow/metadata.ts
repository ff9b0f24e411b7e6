import type { DecoratorUse, Literal, OptionsOf } from '../decorators/types.js';
import type { paramDecorator } from '../decorators/builtin/param.js';

// Node 20 has no Symbol.metadata. esbuild falls back to Symbol.for('Symbol.metadata') while tsc
// emits `Symbol.metadata ? ... : void 0`; defining it here (before any flow class is evaluated,
// which importing flowrun guarantees) makes every compiler agree (../shared/ECOSYSTEM.md §1).
(Symbol as { metadata?: symbol }).metadata ??= Symbol.for('Symbol.metadata');

const META: unique symbol = Symbol.for('flowrun.meta') as never;

/** @param's options, read from its spec. */
export type ParamOptions = OptionsOf<typeof paramDecorator.options>;

/**
 * What the decorators of one flow class recorded, read inside the task (the step's decorators,
 * --with ones excepted). Steps, params and flow decorators are read from the static graph.
 */
export interface FlowMeta {
  stepDecorators: Map<string, DecoratorUse[]>;
}

type MetadataObject = Record<PropertyKey, unknown>;

/**
 * The FlowMeta owned by this class's metadata object. Metadata objects inherit from the
 * superclass's, so a subclass starts from a copy of its parent's entries.
 */
export function metaFor(metadata: MetadataObject | undefined): FlowMeta {
  if (!metadata) throw new Error('flowrun decorators need decorator metadata; compile flows with TC39 decorators (experimentalDecorators off).');
  if (Object.hasOwn(metadata, META)) return metadata[META] as FlowMeta;
  const parent = metadata[META] as FlowMeta | undefined;
  const own: FlowMeta = {
    stepDecorators: new Map([...(parent?.stepDecorators ?? [])].map(([k, v]) => [k, [...v]])),
  };
  Object.defineProperty(metadata, META, { value: own, enumerable: false });
  return own;
}

/** Reads the metadata recorded on a flow class (undefined when it has none). */
export function readFlowMeta(cls: object): FlowMeta | undefined {
  const metadata = (cls as Record<symbol, MetadataObject | undefined>)[Symbol.metadata as symbol];
  return metadata?.[META] as FlowMeta | undefined;
}

export function recordStepDecorator(metadata: MetadataObject | undefined, step: string, name: string, options: Record<string, Literal>): void {
  const meta = metaFor(metadata);
  const list = meta.stepDecorators.get(step) ?? [];
  list.push({ name, options });
  meta.stepDecorators.set(step, list);
}
