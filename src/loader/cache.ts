import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs-atomic.js';

/**
 * A directory of JSON values keyed by content hash, under the project's
 * node_modules/.cache/flowrun (the usual home of tool caches). Entries are immutable for a
 * key, so concurrent writers race harmlessly; a missing or unreadable entry is a miss.
 */
export class JsonCache {
  constructor(readonly dir: string) {}

  static forProject(projectRoot: string, name: string): JsonCache {
    return new JsonCache(join(projectRoot, 'node_modules', '.cache', 'flowrun', name));
  }

  get<T>(key: string): T | undefined {
    try {
      return JSON.parse(readFileSync(this.path(key), 'utf8')) as T;
    } catch {
      return undefined;
    }
  }

  set(key: string, value: unknown): void {
    try {
      writeFileAtomic(this.path(key), JSON.stringify(value));
    } catch {
      // A cache that cannot be written (read-only project) only costs speed.
    }
  }

  path(key: string): string {
    return join(this.dir, `${key}.json`);
  }
}
