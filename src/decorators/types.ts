/** A JSON-like literal, as read statically from decorator arguments or passed at run time. */
export type Literal = string | number | boolean | null | Literal[] | { [key: string]: Literal };

export type OptionType = 'number' | 'integer' | 'string' | 'boolean' | 'string[]' | 'record<string>';

export interface OptionSpec {
  type: OptionType;
  help: string;
  required?: boolean;
  /** Smallest allowed value for numeric options. */
  min?: number;
  /** Allowed values for string options. */
  oneOf?: readonly string[];
}

/**
 * Lifecycle hooks a decorator may implement, named after Metaflow's StepDecorator hooks.
 * The runtime calls them at these points; a decorator that has no behaviour yet declares none.
 */
export interface DecoratorHooks {
  /** Static validation against the whole graph, before a run id is allocated. */
  stepInit?: (ctx: StepInitContext) => void;
}

export interface StepInitContext {
  step: string;
  options: Record<string, Literal>;
}

export interface DecoratorSpec {
  /** The name as written in source: `@retry` → 'retry'. */
  name: string;
  target: 'step' | 'flow' | 'field';
  summary: string;
  options: Record<string, OptionSpec>;
  hooks?: DecoratorHooks;
}

/** A decorator attached to a step or flow, as recorded in the graph. */
export interface DecoratorUse {
  name: string;
  options: Record<string, Literal>;
  line?: number;
}
