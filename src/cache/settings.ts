import { cacheChoice } from '../decorators/hooks.js';
import type { FlowGraph } from '../graph/types.js';

/**
 * Which steps a run caches. `flag` is `--cache` (true) or `--no-cache` (false); `byDefault` is
 * `.flowrc` `cache.default`. `--no-cache` turns the cache off for the run (no lookups, no
 * fills); otherwise a step is cached when it has `@cache()`, or when `--cache` or
 * `cache.default` asks for every step, unless it says `@cache({ enabled: false })` (a step
 * with side effects: it writes to a database, calls an API).
 */
export function cachedSteps(graph: FlowGraph, flag: boolean | undefined, byDefault: boolean | undefined): Set<string> {
  const out = new Set<string>();
  if (flag === false) return out;
  for (const s of graph.steps) {
    const choice = cacheChoice(s.decorators);
    if (choice === false) continue;
    if (choice === true || flag === true || byDefault === true) out.add(s.name);
  }
  return out;
}
