import type { StoreError } from '../errors/index.js';
import { forgedRecord, isObjectId, isPlainObject, PACK_INDEX_MAX_BYTES, PACK_MAX_BYTES, tooBig } from './remote-input.js';

/** Where one object lives inside a pack file. */
export interface PackEntry {
  pack: string;
  offset: number;
  length: number;
}
/** A pack's index, written after the pack itself: object hash → [offset, length]. */
export interface PackIndex {
  v: 1;
  pack: string;
  objects: Record<string, [number, number]>;
}

/** The smallest object file: its 4-byte header. */
const OBJECT_FILE_MIN = 4;

/** What a listing of `packs/` says: pack id → size, index id → (key, size). */
export interface PackListing {
  packs: Map<string, number>;
  indexes: Map<string, { key: string; size: number }>;
}

/** Index keys a reader must not download: too big, or named after something that is not a pack id. */
export function indexKeyProblem(id: string, key: string, size: number, listing: PackListing): StoreError | undefined {
  if (!isObjectId(id)) return forgedRecord(key, 'a pack index must be named packs/<sha256>.idx.json');
  if (size > PACK_INDEX_MAX_BYTES) return tooBig(key, size, PACK_INDEX_MAX_BYTES);
  const packSize = listing.packs.get(id);
  if (packSize === undefined) return forgedRecord(key, `it indexes pack ${id}, which is not on the mirror`);
  if (packSize > PACK_MAX_BYTES) return forgedRecord(`${key.slice(0, -'.idx.json'.length)}.pack`, `the pack is ${packSize} bytes, more than a push writes (${PACK_MAX_BYTES})`);
  return undefined;
}

/**
 * Checks a pack index read from the mirror against its key and its pack's listed size: every
 * object id is a sha256, every entry an in-range [offset, length] of whole integers. A forged
 * index could otherwise make readers fetch arbitrary keys or byte ranges.
 */
export function parsePackIndex(bytes: Buffer, key: string, id: string, packSize: number): Map<string, PackEntry> {
  let index: unknown;
  try {
    index = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw forgedRecord(key, 'it is not valid JSON');
  }
  if (!isPlainObject(index) || index.v !== 1 || !isPlainObject(index.objects)) throw forgedRecord(key, 'it is not a pack index ({"v":1,"pack":…,"objects":{…}})');
  if (index.pack !== id) throw forgedRecord(key, `it names pack ${JSON.stringify(String(index.pack)).slice(0, 80)}, not the pack of its key (${id})`);
  const out = new Map<string, PackEntry>();
  for (const [hash, entry] of Object.entries(index.objects)) {
    if (!isObjectId(hash)) throw forgedRecord(key, `it lists ${JSON.stringify(hash).slice(0, 80)}, which is not an object id`);
    const [offset, length] = Array.isArray(entry) && entry.length === 2 ? (entry as unknown[]) : [];
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || (offset as number) < 0 || (length as number) < OBJECT_FILE_MIN || (offset as number) + (length as number) > packSize) {
      throw forgedRecord(key, `its entry for ${hash} (${JSON.stringify(entry).slice(0, 60)}) is not a byte range inside the ${packSize}-byte pack`);
    }
    out.set(hash, { pack: id, offset: offset as number, length: length as number });
  }
  return out;
}
