import { readFileSync } from 'node:fs';
import { relative, sep } from 'node:path';
import type { FlowGraph } from '../graph/types.js';
import type { CompiledFlow } from '../loader/compile.js';
import type { IncludeRecord, RunCacheRecord, RunRecord } from '../metadata/records.js';
import type { DiskStore, SyncStore } from '../store/types.js';
import type { ClosureInput, FlowClosure } from './closure.js';
import { JsonCache } from '../loader/cache.js';
import { sha256 } from '../util/hash.js';
import { BUILD_ID } from '../util/package-info.js';
import { cachedSteps } from './settings.js';
import { MirrorEntries, pushCacheEntries } from './remote.js';
import { StepCache } from './step-cache.js';
import type { S3Store } from '../store/s3.js';

export interface OpenStepCache {
  graph: FlowGraph;
  /** Absolute path of the flow file, and the project root. */
  path: string;
  projectRoot: string;
  compiled: Pick<CompiledFlow, 'inputs' | 'imports'>;
  store: DiskStore;
  run: RunRecord;
  includes: Record<string, IncludeRecord>;
  /** --cache (true), --no-cache (false), or neither. */
  flag: boolean | undefined;
  /** .flowrc cache.default */
  byDefault: boolean | undefined;
  /** The mirror, looked up when the local store has no entry. */
  mirror?: S3Store;
  warn: (line: string) => void;
}

/** The run's step cache, or undefined when it caches no step. */
export async function openStepCache(o: OpenStepCache): Promise<StepCache | undefined> {
  const steps = cachedSteps(o.graph, o.flag, o.byDefault);
  if (steps.size === 0) return undefined;
  const closure = await closureOf(o.projectRoot, {
    file: relative(o.projectRoot, o.path).split(sep).join('/'),
    text: readFileSync(o.path, 'utf8'),
    steps: o.graph.steps.map((s) => s.name),
    params: o.graph.params.map((p) => p.name),
    imports: o.compiled.imports,
    hashes: o.compiled.inputs,
  });
  return new StepCache({
    store: o.store,
    run: o.run.id,
    graph: o.graph,
    steps,
    closure,
    envLocks: o.run.envLocks ?? {},
    params: o.run.params,
    includes: o.includes,
    seed: o.run.seed,
    ...(o.mirror ? { remote: new MirrorEntries(o.mirror, o.store) } : {}),
    warn: o.warn,
  });
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** What the run record says of its step cache. */
export function cacheRecord(cache: StepCache): RunCacheRecord {
  const s = cache.stats;
  const requests = cache.source instanceof MirrorEntries ? { mirrorRequests: cache.source.requests } : {};
  return { steps: [...cache.steps].sort(), lookups: s.lookups, local: s.local, remote: s.remote, filled: s.filled, lookupMs: round(s.lookupMs), lookupCpuMs: round(s.lookupCpuMs), ...requests };
}

/** `flow run`'s push of its step cache entries after the run: a failure is a warning (`flow push` retries). */
export async function pushCacheAfterRun(store: SyncStore, remote: S3Store, run: string, say: (line: string) => void): Promise<void> {
  try {
    const bundles = await pushCacheEntries(store, remote, run);
    if (bundles > 0) say(`${run}: step cache entries pushed (${bundles} step${bundles === 1 ? '' : 's'})`);
  } catch (e) {
    say(`warning: pushing the step cache entries of ${run} to ${remote.location} failed: ${(e as Error).message} \`flow push ${run}\` retries.`);
  }
}

/**
 * The flow's code closure, kept in the project's tool cache by the hash of everything it is
 * computed from: an unchanged flow is not parsed again (nor is the parser loaded).
 */
async function closureOf(projectRoot: string, input: ClosureInput): Promise<FlowClosure> {
  const cache = JsonCache.forProject(projectRoot, 'cache-closure');
  const key = sha256(JSON.stringify([BUILD_ID, input]));
  const hit = cache.get<{ steps: Array<[string, string]>; constructionParams: string[] | 'all' }>(key);
  if (hit && Array.isArray(hit.steps)) return { steps: new Map(hit.steps), constructionParams: hit.constructionParams };
  // Loaded only when parsing: it parses the flow with oxc-parser (an ES module the CLI bundle loads from dist/src).
  const { flowClosure } = await import('./closure.js');
  const closure = flowClosure(input);
  cache.set(key, { steps: [...closure.steps], constructionParams: closure.constructionParams });
  return closure;
}
