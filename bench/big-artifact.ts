// Child process of the runtime bench: saves or loads one large Buffer artifact through the
// store (or, for the floor, hashes it and writes/reads the same bytes as one file). Save and
// load run in separate processes so each one's peak RSS (GNU time, in the parent) is its own.
import { createHash, randomFillSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalStore } from '../src/store/local.js';
import { loadArtifact, saveArtifact } from '../src/task/artifacts.js';
import type { ArtifactRef } from '../src/metadata/records.js';

const [mode, dir, arg] = process.argv.slice(2) as ['store-save' | 'store-load' | 'floor-save' | 'floor-load', string, string];

function randomBuffer(mib: number): Buffer {
  const buf = Buffer.allocUnsafe(mib * 2 ** 20);
  for (let off = 0; off < buf.length; off += 2 ** 26) randomFillSync(buf, off, Math.min(2 ** 26, buf.length - off));
  return buf;
}

let out: Record<string, unknown>;
if (mode === 'store-save' || mode === 'floor-save') {
  const buf = randomBuffer(Number(arg));
  const t = performance.now();
  if (mode === 'store-save') {
    const ref = saveArtifact(LocalStore.open(dir), buf, 'bench', 'big');
    out = { ms: performance.now() - t, ref };
  } else {
    createHash('sha256').update(buf).digest('hex');
    writeFileSync(join(dir, 'floor.bin'), buf);
    out = { ms: performance.now() - t };
  }
} else {
  const t = performance.now();
  if (mode === 'store-load') {
    const back = loadArtifact(LocalStore.open(dir), JSON.parse(arg) as ArtifactRef) as Buffer;
    out = { ms: performance.now() - t, bytes: back.length };
  } else {
    const back = readFileSync(join(dir, 'floor.bin'));
    createHash('sha256').update(back).digest('hex');
    out = { ms: performance.now() - t, bytes: back.length };
  }
}
process.stdout.write(JSON.stringify(out));
