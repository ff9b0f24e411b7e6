import { FlowError } from '../errors/index.js';
import { encodeArtifact } from '../serialize/encode.js';
import type { SyncStore } from '../store/types.js';
import type { ArtifactRef } from '../metadata/records.js';
import { loadArtifact } from './load-artifact.js';

export { loadArtifact };

/** Encodes and stores an artifact value; large binary parts become their own objects first. */
export function saveArtifact(store: SyncStore, value: unknown, step: string, artifact: string): ArtifactRef {
  let blobBytes = 0;
  const putBlob = (b: Uint8Array) => {
    blobBytes += b.byteLength;
    return store.putObjectSync(b, { compress: false });
  };
  const bytes = encodeArtifact(value, { step, artifact, putBlob });
  // The size users see is the value's: its document plus the raw objects holding its large binary parts.
  return { hash: store.putObjectSync(bytes, { compress: true }), size: bytes.byteLength + blobBytes };
}

interface Slot {
  /** The stored value (absent for a parameter: its value comes from the command line). */
  ref?: ArtifactRef;
  loaded: boolean;
  value?: unknown;
  /** Read or written during the task: its value may have changed, so it is re-encoded. */
  touched: boolean;
  /** Inherited from the parent task, adopted by mergeArtifacts, or a parameter. */
  kind: 'inherited' | 'adopted' | 'param';
  read: boolean;
}

/** Receives the names a task reads (only when its step is cached): see TaskReads. */
export interface ReadRecorder {
  artifact(name: string): void;
  param(name: string): void;
}

/**
 * Installs inherited artifacts on a flow instance as lazy properties: nothing is read from
 * the store unless the step uses it, and an untouched artifact is carried forward by hash.
 */
export class ArtifactScope {
  private readonly slots = new Map<string, Slot>();
  /** Untouched inherited artifacts and parameters, passed on as they came: see TaskReads.carried. */
  readonly carried = { artifacts: [] as string[], params: [] as string[] };

  constructor(
    private readonly store: SyncStore,
    private readonly reads?: ReadRecorder,
  ) {}

  install(target: object, inherited: Record<string, ArtifactRef>, skip: ReadonlySet<string>): void {
    for (const [name, ref] of Object.entries(inherited)) {
      if (skip.has(name)) continue;
      this.define(target, name, { ref, loaded: false, touched: false, kind: 'inherited', read: false });
    }
  }

  /** Makes `name` an artifact of `target` backed by `ref` (mergeArtifacts). */
  adopt(target: object, name: string, ref: ArtifactRef): void {
    this.define(target, name, { ref, loaded: false, touched: false, kind: 'adopted', read: false });
  }

  /**
   * Turns the parameters the flow was built with into tracked properties (a cached step): a
   * read is noted, and an untouched one is carried as the run's value of that parameter.
   */
  trackParams(target: object, names: Iterable<string>): void {
    for (const name of names) {
      const desc = Object.getOwnPropertyDescriptor(target, name);
      if (!desc || !('value' in desc)) continue;
      this.define(target, name, { loaded: true, value: desc.value, touched: false, kind: 'param', read: false });
    }
  }

  private define(target: object, name: string, slot: Slot): void {
    this.slots.set(name, slot);
    Object.defineProperty(target, name, {
      enumerable: true,
      configurable: true,
      get: () => {
        if (!slot.read) {
          slot.read = true;
          if (slot.kind === 'inherited') this.reads?.artifact(name);
          else if (slot.kind === 'param') this.reads?.param(name);
        }
        if (!slot.loaded) {
          slot.value = loadArtifact(this.store, slot.ref!);
          slot.loaded = true;
        }
        // Reading a primitive cannot change it; an object might be mutated in place, so it is re-encoded.
        if (typeof slot.value === 'object' && slot.value !== null) slot.touched = true;
        return slot.value;
      },
      set: (v: unknown) => {
        slot.value = v;
        slot.loaded = true;
        slot.touched = true;
      },
    });
  }

  /** The artifacts of `target` after the step: carried by hash when untouched, else encoded. */
  collect(target: Record<string, unknown>, step: string): Record<string, ArtifactRef> {
    const out: Record<string, ArtifactRef> = {};
    for (const name of Object.keys(target)) {
      const slot = this.slots.get(name);
      const desc = Object.getOwnPropertyDescriptor(target, name)!;
      if (slot && desc.get) {
        if (!slot.touched && slot.ref) {
          out[name] = slot.ref;
          if (slot.kind === 'inherited') this.carried.artifacts.push(name);
          continue;
        }
        if (!slot.touched) this.carried.params.push(name);
        out[name] = saveArtifact(this.store, slot.value, step, name);
        continue;
      }
      if (desc.get || desc.set) continue; // the user's own accessor: not data
      if (desc.value === undefined) continue; // declared (`x!: T`) but never set
      out[name] = saveArtifact(this.store, desc.value, step, name);
    }
    return out;
  }
}

/**
 * A join input: the artifacts of one parent task as lazy, read-only properties. Reading an
 * artifact this input does not have (set only by other branches) is a clear error rather than
 * a silent undefined.
 */
export function inputView(store: SyncStore, input: { task: string; artifacts: Record<string, ArtifactRef> }, step: string, hashes: WeakMap<object, Record<string, ArtifactRef>>, onRead?: (name: string) => void): Record<string, unknown> {
  const { artifacts } = input;
  const view: Record<string, unknown> = {};
  for (const [name, ref] of Object.entries(artifacts)) {
    let loaded = false;
    let value: unknown;
    Object.defineProperty(view, name, {
      enumerable: true,
      get: () => {
        if (!loaded) {
          onRead?.(name);
          value = loadArtifact(store, ref);
          loaded = true;
        }
        return value;
      },
    });
  }
  Object.freeze(view);
  const guarded = new Proxy(view, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && !(prop in target) && !PASS_THROUGH.has(prop)) {
        throw new FlowError('ARTIFACT_NOT_FOUND', `Join ${step} read ${prop} from its input ${input.task}, which has no artifact ${prop} (it is set only on some of the paths into ${step}).`, {
          step,
          artifact: prop,
          fix: `Check before reading (if ('${prop}' in input)), or set ${prop} on every path that leads to ${step}. The input has: ${Object.keys(artifacts).sort().join(', ') || '(nothing)'}.`,
        });
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  hashes.set(guarded, artifacts);
  return guarded;
}

/** Names code probes on any object (promises, JSON, inspection) that must not throw. */
const PASS_THROUGH = new Set(['then', 'toJSON', 'constructor', 'inspect', 'asymmetricMatch', '$$typeof', 'nodeType', 'length']);
