import { resultDecorators } from '../decorators/hooks.js';
import type { DecoratorUse } from '../decorators/types.js';
import type { IncludeRecord } from '../metadata/records.js';
import { encodeArtifact } from '../serialize/encode.js';
import { sha256 } from '../util/hash.js';

/**
 * The step cache's keys, as pure functions (ccache's "direct mode", in two levels):
 *  - K0, the step key: everything a step's tasks depend on that is the same for all of them
 *    (code closure, environment lock, Node major, flowrun version, the decorators that change
 *    what a task computes, the parameters read while the flow object is built);
 *  - K1, the task key: K0 plus the task id and the names of the inputs it was handed, which
 *    names a directory of candidate entries;
 *  - K2, an entry's read key: the hashes of what the task read when it ran (artifacts, join
 *    inputs, parameters, the foreach item, the seed if it called Math.random). A candidate is
 *    a hit when the same reads have the same hashes now.
 */

/** Bumped when what a key covers changes: old entries then simply never match. */
export const CACHE_KEY_VERSION = 'flowrun.cache/1';

export interface StepKeyParts {
  flow: string;
  step: string;
  /** Digest of the step's code closure (closure.ts). */
  code: string;
  /** The step's environment lock: its @npm/@conda lock, else the project lock file's hash. */
  envLock: string | null;
  nodeMajor: string;
  flowrunVersion: string;
  /** The step's decorators, --with ones included. */
  decorators: readonly DecoratorUse[];
  /** Hashes of the parameters read while the flow object is built, by name. */
  construction: Record<string, string>;
}

export function stepKey(p: StepKeyParts): string {
  // Only the decorators that change what a task computes (their changesResult hook); the rest say where and how often it runs.
  const decorators = resultDecorators(p.decorators).map((d) => [d.name, canonicalJson(d.options)]);
  return sha256(canonicalJson({ v: CACHE_KEY_VERSION, flow: p.flow, step: p.step, code: p.code, env: p.envLock, node: p.nodeMajor, flowrun: p.flowrunVersion, decorators, construction: p.construction }));
}

/** What a task was handed, by name: its id, and the artifacts of its parent (or of each join input). */
export interface TaskShape {
  id: string;
  artifacts?: readonly string[];
  inputs?: ReadonlyArray<readonly string[]>;
}

export function taskKey(k0: string, shape: TaskShape): string {
  return sha256(canonicalJson({ k0, id: shape.id, artifacts: sortedOrNull(shape.artifacts), inputs: shape.inputs?.map((n) => [...n].sort()) ?? null }));
}

/** What one task read, as [path, hash] pairs sorted by path: `a:x`, `i:2:x`, `p:alpha`, `item`, `seed`. */
export type ReadSet = Array<[string, string]>;

export function readSetKey(reads: ReadSet): string {
  return sha256(JSON.stringify(reads));
}

/** The names a read path can hold: what a flow may name an artifact or parameter. */
const NAME = '[A-Za-z_$][\\w$]{0,199}';
export const READ_PATH = new RegExp(`^(?:a:${NAME}|i:\\d{1,9}:${NAME}|p:${NAME}|item|seed)$`);

export const readPaths = {
  artifact: (name: string) => `a:${name}`,
  input: (index: number, name: string) => `i:${index}:${name}`,
  param: (name: string) => `p:${name}`,
  item: 'item',
  seed: 'seed',
} as const;

/** The hash of a value as a read sees it: its canonical encoding (large binary parts hashed, not stored). */
export function valueHash(value: unknown, name: string): string {
  return sha256(encodeArtifact(value, { artifact: name, putBlob: (b) => sha256(b) }));
}

/** An @includeFile input is read as its stored content. */
export function includeHash(inc: IncludeRecord): string {
  return sha256(`include\0${inc.hash}\0${inc.binary ? 'binary' : 'text'}`);
}

export function seedHash(seed: number): string {
  return sha256(`seed\0${seed}`);
}

/** JSON with object keys sorted, so the same options give the same key whatever their order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = (v as Record<string, unknown>)[k];
    return out;
  });
}

function sortedOrNull(names: readonly string[] | undefined): string[] | null {
  return names ? [...names].sort() : null;
}
