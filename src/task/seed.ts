import { createHash, randomInt } from 'node:crypto';

/** A fresh run seed (recorded, so a replay can repeat it). */
export function newRunSeed(): number {
  return randomInt(0, 2 ** 31 - 1);
}

/** The seed of one task: a hash of (run seed, step, task id), so tasks differ but replay identically. */
export function taskSeed(runSeed: number, step: string, taskId: string): Uint32Array {
  const h = createHash('sha256').update(`${runSeed}\0${step}\0${taskId}`).digest();
  return new Uint32Array(h.buffer, h.byteOffset, 4).slice();
}

/** sfc32: a small, fast PRNG with 128 bits of state, returning floats in [0, 1) like Math.random. */
export function sfc32(seed: Uint32Array): () => number {
  let a = seed[0]! | 0, b = seed[1]! | 0, c = seed[2]! | 0, d = seed[3]! | 0;
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
