import type * as v from 'valibot';
import type { Literal } from '../util/literal.js';
import type { OptionSchema } from './option.js';
export type { Literal };

/** A decorator's option spec: each option a valibot schema (option.ts), as the entries of an object schema. */
export type OptionSpecs = Readonly<Record<string, OptionSchema>>;

/**
 * A decorator's options object as its spec describes it: the output type of its schema, the one
 * source of truth for both the checks (registry.ts) and the types users write against
 * (`RetryOptions` is `OptionsOf<...>`).
 */
export type OptionsOf<O extends OptionSpecs> = v.InferOutput<v.ObjectSchema<O, undefined>>;

/** The package manager of an environment a decorator asks for; env/ resolves, locks and installs it. */
export type EnvironmentManager = 'npm' | 'conda';

/**
 * Lifecycle hooks a decorator may implement, in the spirit of Metaflow's StepDecorator hooks.
 * Whoever does the work (the scheduler, env preparation, backend selection, the step cache, the
 * task) asks a step's decorators through these and never names one; a decorator without a hook
 * for some point changes nothing there. Options reach a hook only after they passed the spec.
 * Declared as methods: a list of specs holds hooks typed for each one's own options.
 */
export interface DecoratorHooks<O> {
  /** How this decorator changes the way the step's tasks are run (attempts, timeout, catching, env vars, heap). */
  taskSettings?(options: O, settings: StepSettings): void;
  /**
   * Environment preparation: the decorator asks for a locked package environment of this manager
   * (on a flow: every step's default, under the step's own).
   */
  readonly environment?: EnvironmentManager;
  /** Backend selection: the step runs on the backend registered under this name (runtime/backends.ts). */
  readonly backend?: string;
  /** The step cache: whether the step is cached (false: never, even with --cache). */
  cache?(options: O): boolean;
  /** The step cache: the decorator changes what a task computes, so its options are part of the step's key. */
  readonly changesResult?: boolean;
  /** Inside the task: the step's tasks build a card with this title. */
  card?(options: O): { title?: string };
}

/** What a step's decorators ask of the runtime, built by their taskSettings hooks. */
export interface StepSettings {
  /** Total attempts (1 + @retry times). */
  attempts: number;
  retryDelayMs: number;
  timeoutMs?: number;
  /** @catchError: the artifact that receives the error. */
  catchVar?: string;
  printException: boolean;
  env: Record<string, string>;
  /** @resources memory, applied locally as the worker's V8 heap limit. */
  heapMB?: number;
}

export interface DecoratorSpec<O extends OptionSpecs = OptionSpecs> {
  /** The name as written in source: `@retry` → 'retry'. */
  name: string;
  target: 'step' | 'flow' | 'field';
  summary: string;
  options: O;
  /** Options people reach for that the decorator does not take, with what to write instead. */
  notOptions?: Readonly<Record<string, string>>;
  hooks?: DecoratorHooks<OptionsOf<O>>;
}

/** A decorator attached to a step or flow, as recorded in the graph. */
export interface DecoratorUse {
  name: string;
  options: Record<string, Literal>;
  line?: number;
}
