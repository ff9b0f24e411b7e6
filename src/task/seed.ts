import { createHash, randomInt } from 'node:crypto';

/** A fresh run seed (recorded, so a replay can repeat it). */
export function newRunSeed(): number {
  return randomInt(0, 2 ** 31 - 1);
}

/**
 * The seed of one task attempt: a hash of (run seed, step, task id, attempt), so tasks differ,
 * a retry draws afresh (a task that failed because of its draw is not doomed to fail again) and a
 * replay repeats them. Attempt 0 hashes what every attempt hashed before retries had their own
 * seed, so runs recorded then still replay identically.
 */
export function taskSeed(runSeed: number, step: string, taskId: string, attempt = 0): Uint32Array {
  const text = attempt === 0 ? `${runSeed}\0${step}\0${taskId}` : `${runSeed}\0${step}\0${taskId}\0${attempt}`;
  const h = createHash('sha256').update(text).digest();
  return new Uint32Array(h.buffer, h.byteOffset, 4).slice();
}

/** A seed as records hold it: 32 hex digits. */
export function seedHex(seed: Uint32Array): string {
  return [...seed].map((w) => w.toString(16).padStart(8, '0')).join('');
}

export const isSeedHex = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{32}$/.test(s);

export function seedFromHex(hex: string): Uint32Array {
  return Uint32Array.from({ length: 4 }, (_, i) => Number.parseInt(hex.slice(i * 8, i * 8 + 8), 16));
}

/** sfc32: a small, fast PRNG with 128 bits of state, returning floats in [0, 1) like Math.random. */
export function sfc32(seed: Uint32Array): () => number {
  let a = seed[0]! | 0,
    b = seed[1]! | 0,
    c = seed[2]! | 0,
    d = seed[3]! | 0;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next(); // mix the seed
  return next;
}
