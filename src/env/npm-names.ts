import type { DecoratorUse, Literal } from '../decorators/types.js';
import { hooksOf } from '../decorators/hooks.js';
import type { FlowGraph } from '../graph/types.js';
import { own } from '../util/own.js';

/**
 * The packages a flow's npm environment decorators (@npm, @npmBase) name (the loader keeps them external). Its own
 * module: `flow check` needs it without loading the npm and conda installers (tar, semver, ...).
 */
export function npmPackageNames(graph: FlowGraph): Set<string> {
  const names = new Set<string>();
  for (const d of [...graph.decorators, ...graph.steps.flatMap((s) => s.decorators)]) {
    if (hooksOf(d)?.environment === 'npm') for (const n of Object.keys(stringRecord(d, 'packages'))) names.add(n);
  }
  return names;
}

/** A decorator option that is a record of strings (other entries dropped); {} when absent. */
export function stringRecord(d: DecoratorUse | undefined, key: string): Record<string, string> {
  const v: Literal | undefined = own(d?.options, key);
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}
