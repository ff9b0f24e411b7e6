/**
 * The store interface (DESIGN §4). One implementation per medium (local disk now, S3 later),
 * all passing the same conformance suite. Objects are immutable and content-addressed by the
 * sha256 of their logical bytes; records are small JSON documents at paths, written after the
 * objects they reference.
 */
export interface Store {
  /** Human-readable location, for messages. */
  readonly location: string;

  /** Stores bytes; returns their sha256. Idempotent; a crash never leaves a partial object. */
  putObject(data: Uint8Array, options?: { compress?: boolean }): Promise<string>;
  /** Reads an object and verifies its hash (StoreError STORE_CORRUPT_OBJECT / STORE_MISSING_OBJECT). */
  getObject(hash: string): Promise<Buffer>;
  hasObject(hash: string): Promise<boolean>;
  /** Every object hash in the store. */
  listObjects(): AsyncIterable<string>;

  /** Writes a JSON record atomically (readers see the old or the new document, never a mix). */
  writeRecord(path: string, value: unknown): Promise<void>;
  /** Reads a JSON record; undefined when absent; StoreError when unreadable. */
  readRecord<T>(path: string): Promise<T | undefined>;
  /** Names directly under a record directory (sorted). */
  listRecords(dir: string): Promise<string[]>;
  /** Creates `path` only if it does not exist; returns false when it already did. */
  createRecord(path: string, value: unknown): Promise<boolean>;
}

export { SHA256_HEX } from '../util/hash.js';

/**
 * Object ids named anywhere in a text (a record, an artifact document). Generic on purpose: any
 * field that references an object (artifacts, logs, code package, patch, environment locks,
 * included files, binary parts of artifacts, and whatever is added later) is found without the
 * caller knowing the field; callers keep only ids that are objects in the store.
 */
export function objectIdsIn(text: string): string[] {
  return text.match(/[0-9a-f]{64}/g) ?? [];
}

/** objectIdsIn over bytes of any size, scanned in windows (a string cannot exceed ~512 MiB). */
export function objectIdsInBytes(bytes: Uint8Array): string[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const WINDOW = 32 << 20;
  const ids = new Set<string>();
  // Windows overlap by 63 bytes so an id across a boundary is still seen whole.
  for (let start = 0; start < buf.byteLength; start += WINDOW) {
    for (const id of objectIdsIn(buf.toString('latin1', start, Math.min(buf.byteLength, start + WINDOW + 63)))) ids.add(id);
  }
  return [...ids];
}
