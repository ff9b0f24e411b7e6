import { validateDecoratorOptions } from '../decorators/registry.js';
import { paramDecorator } from '../decorators/builtin/param.js';
import type { DecoratorSpec, Literal, OptionSpecs, OptionsOf } from '../decorators/types.js';
import { includeFileDecorator } from '../decorators/builtin/include-file.js';
import { retryDecorator } from '../decorators/builtin/retry.js';
import { timeoutDecorator } from '../decorators/builtin/timeout.js';
import { catchErrorDecorator } from '../decorators/builtin/catch-error.js';
import { resourcesDecorator } from '../decorators/builtin/resources.js';
import { batchDecorator } from '../decorators/builtin/batch.js';
import { npmBaseDecorator, npmDecorator } from '../decorators/builtin/npm.js';
import { condaBaseDecorator, condaDecorator } from '../decorators/builtin/conda.js';
import { environmentDecorator } from '../decorators/builtin/environment.js';
import { cardDecorator } from '../decorators/builtin/card.js';
import { cacheDecorator } from '../decorators/builtin/cache.js';
import { metaFor, recordStepDecorator, type ParamOptions } from './metadata.js';
import type { FlowSpec } from './flowspec.js';

type Method<This, Args extends unknown[], R> = (this: This, ...args: Args) => R;
type StepMethodDecorator = <This extends FlowSpec, Args extends unknown[], R>(method: Method<This, Args, R>, context: ClassMethodDecoratorContext<This, Method<This, Args, R>>) => void;

/** Marks a method as a step of the flow. */
export function step<This extends FlowSpec, Args extends unknown[], R>(_method: Method<This, Args, R>, context: ClassMethodDecoratorContext<This, Method<This, Args, R>>): void {
  if (context.static || context.private) throw new TypeError(`@step must be on a public instance method, not ${String(context.name)}.`);
  // The static graph (src/graph/) knows the steps; this only checks decorator metadata exists.
  metaFor(context.metadata as Record<PropertyKey, unknown>);
}

/**
 * A run parameter, set with `--name value` on the command line. Its type comes from the
 * default value (number, string, boolean; arrays and objects are JSON).
 */
export function param(options: ParamOptions = {}) {
  checkOptions(paramDecorator, options);
  // biome-ignore lint/complexity/useArrowFunction: a generic arrow with a function return type (`): (initial: V) => V => {`) reads worse.
  return function <This extends FlowSpec, V>(_value: undefined, context: ClassFieldDecoratorContext<This, V>): (initial: V) => V {
    const name = String(context.name);
    metaFor(context.metadata as Record<PropertyKey, unknown>);
    return (initial: V): V => {
      const overrides = paramOverrides();
      return overrides && Object.hasOwn(overrides, name) ? (overrides[name] as V) : initial;
    };
  };
}

export type IncludeFileOptions = OptionsOf<typeof includeFileDecorator.options>;

/**
 * A file input (Metaflow's IncludeFile): the field's default, or `--name path`, is a path read
 * when the run starts. Its content is stored content-addressed and the run record holds its
 * hash; every step sees the content (UTF-8 text, or a Buffer with `binary: true`), and
 * `flow replay` uses the stored content, never the file on disk.
 */
export function includeFile(options: IncludeFileOptions = {}) {
  checkOptions(includeFileDecorator, options);
  // biome-ignore lint/complexity/useArrowFunction: a generic arrow with a function return type (`): (initial: V) => V => {`) reads worse.
  return function <This extends FlowSpec, V>(_value: undefined, context: ClassFieldDecoratorContext<This, V>): (initial: V) => V {
    const name = String(context.name);
    metaFor(context.metadata as Record<PropertyKey, unknown>);
    return (initial: V): V => {
      const overrides = paramOverrides();
      return overrides && Object.hasOwn(overrides, name) ? (overrides[name] as V) : initial;
    };
  };
}

const OVERRIDES: unique symbol = Symbol.for('flowrun.paramOverrides') as never;

/** Parameter values of the current run, installed by the task runner before a flow is constructed. */
export function setParamOverrides(values: Record<string, unknown> | undefined): void {
  (globalThis as Record<symbol, unknown>)[OVERRIDES] = values;
}

function paramOverrides(): Record<string, unknown> | undefined {
  return (globalThis as Record<symbol, Record<string, unknown> | undefined>)[OVERRIDES];
}

function checkOptions(spec: DecoratorSpec, options: unknown): void {
  const errors = validateDecoratorOptions(spec, options, {});
  if (errors.length > 0) throw errors[0];
}

/** Builds a step decorator factory from its spec: options checked against it, recorded for the task. */
function stepDecorator<O extends OptionSpecs>(spec: DecoratorSpec<O>): (options?: OptionsOf<O>) => StepMethodDecorator {
  return (options?: OptionsOf<O>) => {
    checkOptions(spec, options);
    return (_method, context) => {
      recordStepDecorator(context.metadata as Record<PropertyKey, unknown>, String(context.name), spec.name, (options ?? {}) as Record<string, Literal>);
    };
  };
}

/**
 * A flow decorator checks its options; what it asks for is read from the static graph
 * (graph.decorators), so nothing is recorded on the class beyond checking that decorator metadata exists.
 */
function flowDecorator<O extends OptionSpecs>(spec: DecoratorSpec<O>) {
  return (options?: OptionsOf<O>) => {
    checkOptions(spec, options);
    return (_cls: abstract new (...args: never[]) => FlowSpec, context: ClassDecoratorContext): void => {
      metaFor(context.metadata as Record<PropertyKey, unknown>);
    };
  };
}

// Each decorator's options type is read from its spec (src/decorators/builtin/), the one source of truth.
export type RetryOptions = OptionsOf<typeof retryDecorator.options>;
export type TimeoutOptions = OptionsOf<typeof timeoutDecorator.options>;
export type CatchErrorOptions = OptionsOf<typeof catchErrorDecorator.options>;
export type ResourcesOptions = OptionsOf<typeof resourcesDecorator.options>;
export type BatchOptions = OptionsOf<typeof batchDecorator.options>;
export type NpmOptions = OptionsOf<typeof npmDecorator.options>;
export type CondaOptions = OptionsOf<typeof condaDecorator.options>;
export type EnvironmentOptions = OptionsOf<typeof environmentDecorator.options>;
export type CardOptions = OptionsOf<typeof cardDecorator.options>;
export type CacheOptions = OptionsOf<typeof cacheDecorator.options>;

/** Re-run a failed task up to `times` more times (default 3). */
export const retry = stepDecorator(retryDecorator);
/** Fail an attempt that runs longer than the given time. */
export const timeout = stepDecorator(timeoutDecorator);
/** Store a failure in the artifact `var` and let the flow continue. */
export const catchError = stepDecorator(catchErrorDecorator);
/** Resources a task needs (used by the Batch backend). */
export const resources = stepDecorator(resourcesDecorator);
/** Run this step on AWS Batch. */
export const batch = stepDecorator(batchDecorator);
/** A locked npm environment for this step. */
export const npm = stepDecorator(npmDecorator);
/** A locked conda environment for this step. */
export const conda = stepDecorator(condaDecorator);
/** Environment variables set while the task runs. */
export const environment = stepDecorator(environmentDecorator);
/**
 * Gives the step's tasks a card (Metaflow's @card): a report built in the step with
 * `currentCard.append(...)`. Without appended parts, the card shows the task's artifacts.
 */
export const card = stepDecorator(cardDecorator);
/**
 * Caches the step: a task whose code closure, environment, the params and artifacts it reads and
 * its seed (when it calls Math.random) are those of an earlier task is not run; that task's
 * outputs are reused by reference. `@cache({ enabled: false })` keeps a step with side effects
 * out of `flow run --cache`.
 */
export const cache = stepDecorator(cacheDecorator);
/** Default @npm environment of every step of the flow. */
export const npmBase = flowDecorator(npmBaseDecorator);
/** Default @conda environment of every step of the flow. */
export const condaBase = flowDecorator(condaBaseDecorator);
