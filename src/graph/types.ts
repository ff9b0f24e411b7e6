import type { DecoratorUse, Literal } from '../decorators/types.js';

/** Version tag of the graph's JSON shape (`flow show --json`, caches, run records). */
export const GRAPH_SCHEMA = 'flowrun.graph/1';

export type StepType = 'linear' | 'branch' | 'foreach' | 'join' | 'end';
export type ParamType = 'number' | 'string' | 'boolean' | 'json';

/** One `this.next(...)` call as written in a step body. */
export interface Transition {
  targets: string[];
  foreach?: string;
  line: number;
  column: number;
}

export interface StepNode {
  name: string;
  line: number;
  doc?: string;
  async: boolean;
  /** The method declares a parameter: it receives `inputs`, i.e. it is a join. */
  takesInputs: boolean;
  /** Every `this.next(...)` call in the body, including ones inside if/else. */
  transitions: Transition[];
  /** Set when a next() call could not be read statically (already reported as GRAPH_DYNAMIC_NEXT). */
  dynamicNext?: true;
  /** Targets of the step's transition ([] for `end` or a step that never calls next). */
  next: string[];
  foreach?: string;
  type: StepType;
  decorators: DecoratorUse[];
  /** Artifact names assigned in the body (`this.x = ...`), in first-assignment order. */
  assigns: string[];
  /** What the body reads of the flow (`this.x`, `const { x } = this`), sorted (graph/reads.ts). */
  reads?: string[];
  /** The body lets `this` escape (a call of the flow's own method, `this[key]`, `f(this)`): it may read anything. */
  readsAll?: true;
  /** sha256 of the method's source text: which steps' code differs between two runs. */
  source?: string;
  /** Steps with a transition into this one (filled in by `linkParents`). */
  in: string[];
}

export interface ParamNode {
  name: string;
  type: ParamType;
  default?: Literal;
  help?: string;
  required: boolean;
  line: number;
  /** @includeFile: the value is a path whose content is read at run start and stored (the step sees the content). */
  include?: { binary: boolean };
}

/** The statically extracted flow graph: plain data, produced and checked by pure functions. */
export interface FlowGraph {
  schema: typeof GRAPH_SCHEMA;
  file: string;
  flow: string;
  line: number;
  doc?: string;
  params: ParamNode[];
  /** Steps in source order. */
  steps: StepNode[];
  /** Step names in topological order (start first); unreachable steps last. */
  order: string[];
  decorators: DecoratorUse[];
  /** sha256 of the flow file with its step methods cut out: its module code (helpers, constants, imports). */
  moduleSource?: string;
  /**
   * Instance methods without @step, with the steps their own next() calls name: a next() to one
   * of them is a missing decorator, not a typo, and the flow goes on from there.
   */
  methods?: Array<{ name: string; line: number; next: string[] }>;
}

export function stepMap(graph: FlowGraph): Map<string, StepNode> {
  return new Map(graph.steps.map((s) => [s.name, s]));
}
