import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Walks up from `start` (through `stop` at most) and returns the first directory containing one of `names`. */
export function findUp(start: string, names: readonly string[], stop?: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (names.some((n) => existsSync(join(dir, n)))) return dir;
    const parent = dirname(dir);
    if (parent === dir || dir === stop) return undefined;
    dir = parent;
  }
}
