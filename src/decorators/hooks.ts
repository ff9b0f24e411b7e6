import { decoratorSpec } from './registry.js';
import type { DecoratorHooks, DecoratorSpec, DecoratorUse, EnvironmentManager, Literal, OptionSpecs, OptionsOf } from './types.js';

/**
 * Hook dispatch: what the runtime, env preparation, backend selection, the step cache and the
 * task ask of a step's (or flow's) decorators. Each question is answered by the hooks of the
 * decorators used, in the order they are written; none of these functions names a decorator.
 */

export type SpecLookup = (name: string) => DecoratorSpec | undefined;

/** The hooks of a used decorator; its options were checked against its spec when they were recorded. */
export function hooksOf(use: DecoratorUse, lookup: SpecLookup = decoratorSpec): DecoratorHooks<Record<string, Literal>> | undefined {
  return lookup(use.name)?.hooks as DecoratorHooks<Record<string, Literal>> | undefined;
}

/** The decorator among `uses` that asks for a `manager` environment (the first one). */
export function environmentUse(uses: readonly DecoratorUse[], manager: EnvironmentManager): DecoratorUse | undefined {
  return uses.find((d) => hooksOf(d)?.environment === manager);
}

/** Whether some decorator among `uses` asks for a package environment. */
export function declaresEnvironment(uses: readonly DecoratorUse[]): boolean {
  return uses.some((d) => hooksOf(d)?.environment !== undefined);
}

/** The backend a step's decorators select (undefined: the local worker pool). */
export function stepBackend(uses: readonly DecoratorUse[]): string | undefined {
  for (const d of uses) {
    const backend = hooksOf(d)?.backend;
    if (backend !== undefined) return backend;
  }
  return undefined;
}

/** What a step's decorators say about caching it: true (cache it), false (never), undefined (no say). */
export function cacheChoice(uses: readonly DecoratorUse[]): boolean | undefined {
  for (const d of uses) {
    const cache = hooksOf(d)?.cache;
    if (cache) return cache(d.options);
  }
  return undefined;
}

/** The decorators that change what a task computes (their options key the step cache). */
export function resultDecorators(uses: readonly DecoratorUse[]): DecoratorUse[] {
  return uses.filter((d) => hooksOf(d)?.changesResult === true);
}

/** The card a step's tasks build, if one of its decorators asks for it. */
export function cardRequest(uses: readonly DecoratorUse[]): { title?: string } | undefined {
  for (const d of uses) {
    const card = hooksOf(d)?.card;
    if (card) return card(d.options);
  }
  return undefined;
}

/**
 * The options of `spec`'s decorator among `uses`, typed by its spec: for the code that
 * implements a decorator's behaviour in a higher layer (the Batch backend reads @batch's).
 */
export function optionsOf<O extends OptionSpecs>(uses: readonly DecoratorUse[], spec: DecoratorSpec<O>): OptionsOf<O> | undefined {
  return uses.find((d) => d.name === spec.name)?.options as OptionsOf<O> | undefined;
}
