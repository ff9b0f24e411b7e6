import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Durability, writeAtomicSync } from './atomic-write.js';

/**
 * Writes a cache or index file (its folder made first) with the one write protocol
 * (atomic-write.ts): readers see the old content or the whole new content.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, durability: Durability = 'none'): void {
  mkdirSync(dirname(path), { recursive: true });
  writeAtomicSync(path, data, { durability });
}
