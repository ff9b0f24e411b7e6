import type { ArtifactRef, CacheKeyRef, CardRef, NextCall } from '../metadata/records.js';
import { OBJECT_MEMBER_NAMES } from '../metadata/names.js';
import { isObjectId, isPlainObject, isRunId, isStepName, isTaskId, printable } from '../store/remote-input.js';
import { READ_PATH, readSetKey, type ReadSet } from './key.js';

export const ENTRY_SCHEMA = 'flowrun.cache-entry/1';

/**
 * One step cache entry: the outputs of a task that ran, keyed by what it read. Stored locally
 * as `cache/<k1>/<k2>.json` (created once: concurrent fills of one key keep the first) and on a
 * mirror inside its step's bundle. Outputs are references: an artifact hash, `a` (the task
 * passed on the inherited artifact of that name without reading it: whatever it is now), or
 * `p` (a parameter it did not touch: the run's value now).
 */
export interface CacheEntry extends CacheKeyRef {
  schema: typeof ENTRY_SCHEMA;
  flow: string;
  step: string;
  /** The task id. */
  task: string;
  /** The run whose task record holds these outputs (gc drops the entry with that run). */
  run: string;
  /** `run/step/task` of the task that computed them (what a hit records as cachedFrom). */
  from: string;
  reads: ReadSet;
  outputs: Record<string, ArtifactRef | 'a' | 'p'>;
  next?: NextCall & { count?: number };
  logs: { stdout: string; stderr: string };
  cards?: CardRef[];
  /** The task read the clock when it ran: a hit warns that its outputs are from that time. */
  clock?: true;
  durationMs: number;
  created: string;
}

/** The most entries one document may list, and the longest list of reads (a join over a big foreach). */
const MAX_READS = 1_000_000;
const ARTIFACT_NAME = /^[A-Za-z_$][\w$]{0,199}$/;

/**
 * Checks an entry read from the store or a mirror, as untrusted input: every name, hash and
 * number has the form flowrun writes, the keys are the ones it was found under, and its read
 * key is the hash of its reads. Returns the problem in words, or undefined when it is sound.
 */
export function entryProblem(value: unknown, expect: Partial<CacheKeyRef>): string | undefined {
  if (!isPlainObject(value)) return 'it is not an entry';
  const e = value;
  if (e.schema !== ENTRY_SCHEMA) return `it has the schema ${printable(JSON.stringify(e.schema ?? null), 60)}, not ${ENTRY_SCHEMA}`;
  for (const k of ['k0', 'k1', 'k2'] as const) {
    if (!isObjectId(e[k])) return `its ${k} is not a key`;
    if (expect[k] !== undefined && e[k] !== expect[k]) return `it is filed under ${k} ${expect[k]} but names ${String(e[k])}`;
  }
  if (typeof e.flow !== 'string' || e.flow.length > 200) return 'its flow name is malformed';
  if (!isStepName(e.step) || !isTaskId(e.task) || !isRunId(e.run)) return 'its step, task id or run is malformed';
  if (!isPathspec(e.from)) return 'its origin (from) is not run/step/task';
  if (!Array.isArray(e.reads) || e.reads.length > MAX_READS) return 'its reads are not a list';
  let last = '';
  for (const r of e.reads as unknown[]) {
    if (!Array.isArray(r) || r.length !== 2 || typeof r[0] !== 'string' || !READ_PATH.test(r[0]) || !isObjectId(r[1])) return 'a read is malformed';
    if (r[0] <= last) return 'its reads are not sorted by path';
    last = r[0];
  }
  if (readSetKey(e.reads as ReadSet) !== e.k2) return 'its read key (k2) is not the hash of its reads';
  if (!isPlainObject(e.outputs)) return 'its outputs are malformed';
  for (const [name, out] of Object.entries(e.outputs)) {
    if (!ARTIFACT_NAME.test(name) || OBJECT_MEMBER_NAMES.has(name)) return `it names an output ${printable(name, 60)}, which is not an artifact name`;
    if (out !== 'a' && out !== 'p' && !isRef(out)) return `its output ${name} is malformed`;
  }
  if (e.next !== undefined && !isNext(e.next)) return 'its next is malformed';
  if (!isPlainObject(e.logs) || !isObjectId(e.logs.stdout) || !isObjectId(e.logs.stderr)) return 'its logs are malformed';
  if (e.cards !== undefined && !(Array.isArray(e.cards) && e.cards.length <= 100 && e.cards.every(isCard))) return 'its cards are malformed';
  if (e.clock !== undefined && e.clock !== true) return 'its clock flag is malformed';
  if (!isCount(e.durationMs) || typeof e.created !== 'string' || e.created.length > 40) return 'its timing is malformed';
  return undefined;
}

/** Every object an entry references (its outputs, logs and cards; binary parts are named inside artifacts). */
export function entryObjects(e: CacheEntry): Array<{ hash: string; size?: number; what: string }> {
  const out: Array<{ hash: string; size?: number; what: string }> = [];
  for (const [name, ref] of Object.entries(e.outputs)) if (typeof ref === 'object') out.push({ hash: ref.hash, size: ref.size, what: `artifact ${name}` });
  out.push({ hash: e.logs.stdout, what: 'stdout log' }, { hash: e.logs.stderr, what: 'stderr log' });
  for (const c of e.cards ?? []) out.push({ hash: c.hash, what: `card ${c.id}` });
  return out;
}

function isPathspec(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const [run, step, task, ...rest] = v.split('/');
  return rest.length === 0 && isRunId(run) && isStepName(step) && isTaskId(task);
}

function isRef(v: unknown): v is ArtifactRef {
  return isPlainObject(v) && isObjectId(v.hash) && isCount(v.size);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isNext(v: unknown): boolean {
  if (!isPlainObject(v) || !Array.isArray(v.targets) || v.targets.length > 1000 || !v.targets.every(isStepName)) return false;
  if (v.foreach !== undefined && !(typeof v.foreach === 'string' && ARTIFACT_NAME.test(v.foreach))) return false;
  return v.count === undefined || isCount(v.count);
}

function isCard(v: unknown): boolean {
  return isPlainObject(v) && typeof v.id === 'string' && v.id.length <= 200 && isObjectId(v.hash) && (v.title === undefined || (typeof v.title === 'string' && v.title.length <= 1000)) && (v.errors === undefined || isCount(v.errors));
}
