import { decoratorSpec, validateDecoratorOptions } from '../decorators/registry.js';
import type { Literal } from '../decorators/types.js';
import { metaFor, recordStepDecorator, type ParamOptions } from './metadata.js';
import type { FlowSpec } from './flowspec.js';

type Method<This, Args extends unknown[], R> = (this: This, ...args: Args) => R;
type StepMethodDecorator = <This extends FlowSpec, Args extends unknown[], R>(
  method: Method<This, Args, R>, context: ClassMethodDecoratorContext<This, Method<This, Args, R>>) => void;

/** Marks a method as a step of the flow. */
export function step<This extends FlowSpec, Args extends unknown[], R>(
  _method: Method<This, Args, R>, context: ClassMethodDecoratorContext<This, Method<This, Args, R>>): void {
  if (context.static || context.private) throw new TypeError(`@step must be on a public instance method, not ${String(context.name)}.`);
  metaFor(context.metadata as Record<PropertyKey, unknown>).steps.add(String(context.name));
}

/**
 * A run parameter, set with `--name value` on the command line. Its type comes from the
 * default value (number, string, boolean; arrays and objects are JSON).
 */
export function param(options: ParamOptions = {}) {
  checkOptions('param', options, undefined);
  // biome-ignore lint/complexity/useArrowFunction: a generic arrow with a function return type (`): (initial: V) => V => {`) reads worse.
  return function <This extends FlowSpec, V>(_value: undefined, context: ClassFieldDecoratorContext<This, V>): (initial: V) => V {
    const name = String(context.name);
    metaFor(context.metadata as Record<PropertyKey, unknown>).params.set(name, options);
    return (initial: V): V => {
      const overrides = paramOverrides();
      return overrides && Object.hasOwn(overrides, name) ? (overrides[name] as V) : initial;
    };
  };
}

export interface IncludeFileOptions { help?: string; required?: boolean; binary?: boolean }

/**
 * A file input (Metaflow's IncludeFile): the field's default, or `--name path`, is a path read
 * when the run starts. Its content is stored content-addressed and the run record holds its
 * hash; every step sees the content (UTF-8 text, or a Buffer with `binary: true`), and
 * `flow replay` uses the stored content, never the file on disk.
 */
export function includeFile(options: IncludeFileOptions = {}) {
  checkOptions('includeFile', options, undefined);
  // biome-ignore lint/complexity/useArrowFunction: a generic arrow with a function return type (`): (initial: V) => V => {`) reads worse.
  return function <This extends FlowSpec, V>(_value: undefined, context: ClassFieldDecoratorContext<This, V>): (initial: V) => V {
    const name = String(context.name);
    metaFor(context.metadata as Record<PropertyKey, unknown>).params.set(name, { help: options.help, required: options.required, type: 'string' });
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

function checkOptions(name: string, options: unknown, step: string | undefined): void {
  const spec = decoratorSpec(name)!;
  const errors = validateDecoratorOptions(spec, options, { step });
  if (errors.length > 0) throw errors[0];
}

/** Builds a step decorator factory from the registry spec of `name`. */
function stepDecorator<O extends object>(name: string): (options?: O) => StepMethodDecorator {
  return (options?: O) => {
    checkOptions(name, options, undefined);
    return (_method, context) => {
      recordStepDecorator(context.metadata as Record<PropertyKey, unknown>, String(context.name), name, (options ?? {}) as Record<string, Literal>);
    };
  };
}

function flowDecorator<O extends object>(name: string) {
  return (options?: O) => {
    checkOptions(name, options, undefined);
    return (_cls: abstract new (...args: never[]) => FlowSpec, context: ClassDecoratorContext): void => {
      metaFor(context.metadata as Record<PropertyKey, unknown>).flowDecorators.push({ name, options: (options ?? {}) as Record<string, Literal> });
    };
  };
}

export interface RetryOptions { times?: number; minutesBetween?: number }
export interface TimeoutOptions { seconds?: number; minutes?: number; hours?: number }
export interface CatchErrorOptions { var?: string; printException?: boolean }
export interface ResourcesOptions { cpu?: number; memory?: number; gpu?: number }
export interface BatchOptions { queue?: string; image?: string; cpu?: number; memory?: number; gpu?: number }
export interface NpmOptions { packages?: Record<string, string>; node?: string }
export interface CondaOptions { packages?: Record<string, string>; python?: string; channels?: string[] }
export interface EnvironmentOptions { vars: Record<string, string> }
export interface CardOptions { title?: string }
export interface CacheOptions { enabled?: boolean }

/** Re-run a failed task up to `times` more times (default 3). */
export const retry = stepDecorator<RetryOptions>('retry');
/** Fail an attempt that runs longer than the given time. */
export const timeout = stepDecorator<TimeoutOptions>('timeout');
/** Store a failure in the artifact `var` and let the flow continue. */
export const catchError = stepDecorator<CatchErrorOptions>('catchError');
/** Resources a task needs (used by the Batch backend). */
export const resources = stepDecorator<ResourcesOptions>('resources');
/** Run this step on AWS Batch. */
export const batch = stepDecorator<BatchOptions>('batch');
/** A locked npm environment for this step. */
export const npm = stepDecorator<NpmOptions>('npm');
/** A locked conda environment for this step. */
export const conda = stepDecorator<CondaOptions>('conda');
/** Environment variables set while the task runs. */
export const environment = stepDecorator<EnvironmentOptions>('environment');
/**
 * Gives the step's tasks a card (Metaflow's @card): a report built in the step with
 * `currentCard.append(...)`. Without appended parts, the card shows the task's artifacts.
 */
export const card = stepDecorator<CardOptions>('card');
/**
 * Caches the step: a task whose code closure, environment, the params and artifacts it reads and
 * its seed (when it calls Math.random) are those of an earlier task is not run; that task's
 * outputs are reused by reference. `@cache({ enabled: false })` keeps a step with side effects
 * out of `flow run --cache`.
 */
export const cache = stepDecorator<CacheOptions>('cache');
/** Default @npm environment of every step of the flow. */
export const npmBase = flowDecorator<NpmOptions>('npmBase');
/** Default @conda environment of every step of the flow. */
export const condaBase = flowDecorator<CondaOptions>('condaBase');
