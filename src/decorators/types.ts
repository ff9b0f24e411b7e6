import type { Literal } from '../util/literal.js';
export type { Literal };

export type OptionType = 'number' | 'integer' | 'string' | 'boolean' | 'string[]' | 'record<string>';

export interface OptionSpec {
  type: OptionType;
  help: string;
  required?: boolean;
  /** Smallest allowed value for numeric options. */
  min?: number;
  /** Allowed values for string options. */
  oneOf?: readonly string[];
  /** Values people write for a oneOf option, mapped to the allowed one they mean (`float` → `number`). */
  aliases?: Readonly<Record<string, string>>;
}

/**
 * Lifecycle hooks a decorator may implement, named after Metaflow's StepDecorator hooks.
 * The runtime calls them at these points; a decorator that has no behaviour yet declares none.
 */
export interface DecoratorHooks {
  /** Local runtime: how this decorator changes the way the step's tasks are run. */
  taskSettings?: (options: Record<string, Literal>, settings: StepSettings) => void;
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


export interface DecoratorSpec {
  /** The name as written in source: `@retry` → 'retry'. */
  name: string;
  target: 'step' | 'flow' | 'field';
  summary: string;
  options: Record<string, OptionSpec>;
  /** Options people reach for that the decorator does not take, with what to write instead. */
  notOptions?: Readonly<Record<string, string>>;
  hooks?: DecoratorHooks;
}

/** A decorator attached to a step or flow, as recorded in the graph. */
export interface DecoratorUse {
  name: string;
  options: Record<string, Literal>;
  line?: number;
}
