import { readFileSync } from 'node:fs';
import { relative, sep } from 'node:path';
import type { FlowGraph } from '../graph/types.js';
import type { CompiledFlow } from '../loader/compile.js';
import type { IncludeRecord, RunCacheRecord, RunRecord } from '../metadata/records.js';
import type { LocalStore } from '../store/local.js';
import { flowClosure } from './closure.js';
import { cachedSteps } from './settings.js';
import { type EntrySource, StepCache } from './step-cache.js';

export interface OpenStepCache {
  graph: FlowGraph;
  /** Absolute path of the flow file, and the project root. */
  path: string;
  projectRoot: string;
  compiled: Pick<CompiledFlow, 'inputs' | 'imports'>;
  store: LocalStore;
  run: RunRecord;
  includes: Record<string, IncludeRecord>;
  /** --cache (true), --no-cache (false), or neither. */
  flag: boolean | undefined;
  /** .flowrc cache.default */
  byDefault: boolean | undefined;
  remote?: EntrySource;
  warn: (line: string) => void;
}

/** The run's step cache, or undefined when it caches no step. */
export function openStepCache(o: OpenStepCache): StepCache | undefined {
  const steps = cachedSteps(o.graph, o.flag, o.byDefault);
  if (steps.size === 0) return undefined;
  const closure = flowClosure({
    file: relative(o.projectRoot, o.path).split(sep).join('/'), text: readFileSync(o.path, 'utf8'),
    steps: o.graph.steps.map((s) => s.name), params: o.graph.params.map((p) => p.name), imports: o.compiled.imports, hashes: o.compiled.inputs,
  });
  return new StepCache({
    store: o.store, run: o.run.id, graph: o.graph, steps, closure, envLocks: o.run.envLocks ?? {}, params: o.run.params, includes: o.includes, seed: o.run.seed,
    ...(o.remote ? { remote: o.remote } : {}), warn: o.warn,
  });
}

/** What the run record says of its step cache. */
export function cacheRecord(cache: StepCache): RunCacheRecord {
  const s = cache.stats;
  return { steps: [...cache.steps].sort(), lookups: s.lookups, local: s.local, remote: s.remote, filled: s.filled, lookupMs: Math.round(s.lookupMs * 1000) / 1000 };
}
