import { constants } from 'node:buffer';
import { StoreError } from '../errors/index.js';
import { RESERVED_NAMES } from '../metadata/names.js';
import { formatBytes } from '../util/bytes.js';
import { SHA256_HEX } from './types.js';

/*
 * A mirror is untrusted input (DESIGN §5): anyone who can write to the bucket can write any key.
 * Every name, size and offset read from it passes these checks before flowrun uses it, and every
 * read is bounded, so a forged key can neither reach outside the store nor exhaust memory.
 */

/** The most a run record, task record or claim may hold (real ones are a few KiB). */
export const RECORD_MAX_BYTES = 16 << 20;
/** A run's record bundle: at most V8's longest string, which is the most a push can write. */
export const BUNDLE_MAX_BYTES = constants.MAX_STRING_LENGTH;
/** A step cache bundle (src/cache/remote.ts): a step of 100,000 tasks makes ~100 MB. */
export const CACHE_BUNDLE_MAX_BYTES = 256 << 20;
/** A pack index (push writes one per pack of at most ~36 MiB; its index is a fraction of that). */
export const PACK_INDEX_MAX_BYTES = 64 << 20;
/** A pack: push closes one at 32 MiB, plus at most one member of 4 MiB. */
export const PACK_MAX_BYTES = 64 << 20;
/**
 * Objects whose size no record declares (logs, code packages, manifests, locks, patches) may
 * inflate to at most this; artifacts and included files are bounded by their recorded size.
 */
export const UNDECLARED_OBJECT_MAX_BYTES = 1 << 30;
/** Longest step name or task id accepted from a mirror (file names are at most 255 bytes). */
const NAME_MAX = 200;

export const isRunId = (s: unknown): s is string => typeof s === 'string' && /^run-\d{1,15}$/.test(s);

/** The rules a local step name passes (graph validation), plus a length a file name can hold. */
export const isStepName = (s: unknown): s is string => typeof s === 'string' && s.length <= NAME_MAX && /^[A-Za-z_$][\w$]*$/.test(s) && !RESERVED_NAMES.has(s);

/** Split indices joined by '.', or '0'. */
export const isTaskId = (s: unknown): s is string => typeof s === 'string' && s.length <= NAME_MAX && /^\d+(\.\d+)*$/.test(s);

export const isObjectId = (s: unknown): s is string => typeof s === 'string' && SHA256_HEX.test(s);

/** `<step>/<task>.json`, both names valid; anything else (.., /, \, NUL, long names) is undefined. */
export function parseTaskRecordPath(rel: string): { step: string; id: string } | undefined {
  const m = /^([^/]+)\/([^/]+)\.json$/.exec(rel);
  return m && isStepName(m[1]) && isTaskId(m[2]) ? { step: m[1]!, id: m[2]! } : undefined;
}

/** A path inside a project as a record stores it: relative, '/'-separated, no '..', no NUL or '\'. */
export function isProjectPath(p: unknown): p is string {
  if (typeof p !== 'string' || p.length === 0 || p.length > 4096 || /[\0\\]/.test(p) || p.startsWith('/')) return false;
  if (p === '.') return true;
  return p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/** Text from a mirror, safe to print: control characters escaped, long values shortened. */
export function printable(s: string, max = 160): string {
  const escaped = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > max ? `${escaped.slice(0, max)}… (${s.length} characters)` : escaped;
}

/** A record or index read from the mirror that is not what flowrun writes there. */
export function forgedRecord(key: string, what: string): StoreError {
  return new StoreError('STORE_CORRUPT_RECORD', `The mirror key ${printable(key, 400)} is refused: ${what}. It is forged or corrupt; nothing of it was stored locally.`, {
    file: key,
    fix: 'Check who can write to the mirror bucket. Push the run again from a machine with a good copy (flow push), or delete the key; flow fsck --remote lists every such key.',
  });
}

export function tooBig(key: string, size: number, max: number): StoreError {
  return forgedRecord(key, `it is ${formatBytes(size)}, more than the ${formatBytes(max)} such a document may hold`);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Own-property lookup: a key like `constructor` must not find Object.prototype's. */
export function own<T>(o: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}
