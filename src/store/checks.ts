import { StoreError } from '../errors/index.js';
import { JSONStringify, RegExpPrototypeExec } from '../util/primordials.js';
import { SHA256_HEX } from './types.js';

/**
 * The checks and coded errors every store medium gives alike, so the local store, the S3 store
 * and the in-memory store fail the same way on the same input (one source, not one copy each).
 */

/**
 * Refuses an id that is not a sha256 hex (it comes from a corrupt or forged record), before it is
 * turned into a path or a key. Captured intrinsics: this runs inside steps (artifacts load lazily).
 */
export function assertObjectId(hash: unknown, fix = 'Run flow fsck.'): asserts hash is string {
  if (typeof hash !== 'string' || !RegExpPrototypeExec(SHA256_HEX, hash)) {
    throw new StoreError('STORE_CORRUPT_RECORD', `A record references ${JSONStringify(hash)}, which is not an object id.`, { fix });
  }
}

/**
 * A record path without its trailing slashes. Record paths are built from run ids, step names and
 * task ids; one that could leave the store (.., an absolute path, NUL, a backslash, an empty
 * segment) comes from a corrupt or forged record and is refused, so no record is ever read or
 * written outside the store.
 */
export function checkedRecordPath(path: string, location: string): string {
  const trimmed = path.replace(/\/+$/, '');
  const segments = trimmed.split('/');
  if (path.startsWith('/') || /[\0\\]/.test(path) || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new StoreError('STORE_CORRUPT_RECORD', `The record path ${JSON.stringify(path).slice(0, 300)} would leave the store ${location}; it comes from a corrupt or forged record.`, { file: location, fix: 'Run flow fsck to find the record naming it.' });
  }
  return trimmed;
}

/** An object a record names is not in the store. */
export function missingObjectError(hash: string, location: string, file?: string): StoreError {
  return new StoreError('STORE_MISSING_OBJECT', `Object ${hash} is missing from the store ${location}.`, { ...(file === undefined ? {} : { file }), fix: 'Run flow fsck to list what is affected; flow pull (from a mirror) or a copy of the store can restore it.' });
}

/** An object whose bytes do not hash to its id. */
export function hashMismatchError(hash: string, file?: string): StoreError {
  return new StoreError('STORE_CORRUPT_OBJECT', `Object ${hash} is corrupt: its content does not match its hash.`, { ...(file === undefined ? {} : { file }), fix: 'Run flow fsck to list affected runs; flow pull (from a mirror) or a copy of the store can restore it.' });
}
