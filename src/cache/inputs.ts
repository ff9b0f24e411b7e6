import type { Literal } from '../decorators/types.js';
import type { ArtifactRef, IncludeRecord } from '../metadata/records.js';
import type { SyncStore } from '../store/types.js';
import { loadArtifact, saveArtifact } from '../task/artifacts.js';
import type { TaskInputs } from '../task/hooks.js';
import { loadIncludes } from '../task/includes.js';
import { includeHash, readPaths, seedHash, valueHash } from './key.js';

/**
 * The hashes of what a task could read, in this run: its inputs' artifacts (known from their
 * refs), the run's parameters and seed, and foreach items (each split list is decoded once and
 * its items hashed on demand). Also the stored form of a parameter, for outputs an entry
 * carries as `p`. Everything is computed once per run.
 */
export class RunInputs {
  private readonly params = new Map<string, string | undefined>();
  private readonly paramRefs = new Map<string, ArtifactRef>();
  private readonly items = new Map<string, { values: unknown[]; hashes: Array<string | undefined> }>();
  private readonly seed: string;

  constructor(private readonly o: { store: SyncStore; params: Record<string, Literal>; includes: Record<string, IncludeRecord>; seed: number }) {
    this.seed = seedHash(o.seed);
  }

  /** The current hash of a read path for this task, or undefined when the task has no such input. */
  hash(path: string, task: TaskInputs): string | undefined {
    if (path === readPaths.seed) return this.seed;
    if (path === readPaths.item) return task.foreach ? this.itemHash(task.foreach.artifact, task.foreach.index) : undefined;
    const [kind, a, b] = path.split(':');
    if (kind === 'a') return own(task.inherited, a!)?.hash;
    if (kind === 'i') return own(task.inputs?.[Number(a)], b!)?.hash;
    if (kind === 'p') return this.paramHash(a!);
    return undefined;
  }

  paramHash(name: string): string | undefined {
    if (!this.params.has(name)) {
      const inc = own(this.o.includes, name);
      this.params.set(name, inc ? includeHash(inc) : Object.hasOwn(this.o.params, name) ? valueHash(this.o.params[name], name) : undefined);
    }
    return this.params.get(name);
  }

  /** A parameter as a task stores it (its value, or an included file's content). */
  paramRef(name: string, step: string): ArtifactRef | undefined {
    if (!this.paramRefs.has(name)) {
      const inc = own(this.o.includes, name);
      if (!inc && !Object.hasOwn(this.o.params, name)) return undefined;
      const value = inc ? loadIncludes({ [name]: inc }, this.o.store)[name] : this.o.params[name];
      this.paramRefs.set(name, saveArtifact(this.o.store, value, step, name));
    }
    return this.paramRefs.get(name);
  }

  private itemHash(ref: ArtifactRef, index: number): string | undefined {
    let split = this.items.get(ref.hash);
    if (!split) {
      const values = Array.from(loadArtifact(this.o.store, ref) as Iterable<unknown>);
      split = { values, hashes: [] };
      this.items.set(ref.hash, split);
    }
    if (index >= split.values.length) return undefined;
    split.hashes[index] ??= valueHash(split.values[index], 'input');
    return split.hashes[index];
  }
}

function own<T>(o: Record<string, T> | undefined, key: string): T | undefined {
  return o && Object.hasOwn(o, key) ? o[key] : undefined;
}
