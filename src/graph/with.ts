import { decoratorNames, decoratorSpec, validateDecoratorOptions } from '../decorators/registry.js';
import type { DecoratorUse, Literal } from '../decorators/types.js';
import { DecoratorError, UsageError } from '../errors/index.js';
import type { FlowGraph } from './types.js';
import { closest } from '../util/suggest.js';

/**
 * Parses `--with NAME[:key=value,...]` (Metaflow's form): values that read as numbers or
 * true/false become those, anything else a string. Options are checked against the decorator's
 * spec, so `--with batch:cpus=2` fails before anything runs, naming the option.
 */
export function parseWith(text: string): DecoratorUse {
  const colon = text.indexOf(':');
  const name = colon === -1 ? text : text.slice(0, colon);
  const spec = decoratorSpec(name);
  if (spec?.target !== 'step') {
    const known = decoratorNames('step');
    const guess = closest(name, known);
    throw new UsageError('WITH_UNKNOWN_DECORATOR', `--with ${text}: there is no step decorator @${name}.`, { fix: guess ? `Did you mean --with ${guess}? Step decorators: ${known.join(', ')}.` : `Step decorators: ${known.join(', ')}.` });
  }
  const options: Record<string, Literal> = {};
  for (const pair of colon === -1
    ? []
    : text
        .slice(colon + 1)
        .split(',')
        .filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError('WITH_BAD_OPTION', `--with ${text}: '${pair}' is not key=value.`, { fix: `Write it as --with ${name}:key=value,key2=value2.` });
    options[pair.slice(0, eq)] = literal(pair.slice(eq + 1));
  }
  const problems = validateDecoratorOptions(spec, options, {});
  if (problems.length > 0) throw new DecoratorError(`--with ${text}: ${problems[0]!.message}`, { fix: problems[0]!.fix });
  return { name, options };
}

function literal(v: string): Literal {
  if (v === 'true' || v === 'false') return v === 'true';
  if (v !== '' && Number.isFinite(Number(v))) return Number(v);
  return v;
}

/** The graph with each `--with` decorator on every step; a step's own options win over --with's. */
export function applyWith(graph: FlowGraph, uses: DecoratorUse[]): FlowGraph {
  if (uses.length === 0) return graph;
  return {
    ...graph,
    steps: graph.steps.map((s) => {
      const decorators = [...s.decorators];
      for (const use of uses) {
        const own = decorators.findIndex((d) => d.name === use.name);
        if (own === -1) decorators.push(use);
        else decorators[own] = { ...decorators[own]!, options: { ...use.options, ...decorators[own]!.options } };
      }
      return { ...s, decorators };
    }),
  };
}
