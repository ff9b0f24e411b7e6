import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomicSync } from '../../src/util/atomic-write.js';
import { median, REPO, type Section } from '../util.js';

const WRITES = 200;

/** Milliseconds per atomic write of `bytes`, median of 5 batches, in a folder on the repository's disk. */
function perWrite(durability: 'none' | 'full', bytes: number): number {
  const dir = mkdtempSync(join(REPO, '.bench-durability-'));
  const data = Buffer.alloc(bytes, 7);
  try {
    const batches: number[] = [];
    for (let b = 0; b < 5; b++) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < WRITES / 5; i++) writeAtomicSync(join(dir, `${b}-${i}`), data, { durability });
      batches.push(Number(process.hrtime.bigint() - t) / 1e6 / (WRITES / 5));
    }
    return median(batches);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The cost of STYLE's write protocol (fsync of file and folder) against a plain atomic rename. */
export async function durability(): Promise<Section[]> {
  const rows = [];
  for (const bytes of [1024, 1 << 20]) {
    const none = perWrite('none', bytes);
    const full = perWrite('full', bytes);
    const size = bytes === 1024 ? '1 KiB (a record)' : '1 MiB (an object)';
    rows.push({ name: `${size}: rename only`, value: `${none.toFixed(2)} ms`, note: 'durability none: objects, task records, caches' });
    rows.push({ name: `${size}: fsync file + folder`, value: `${full.toFixed(2)} ms`, note: `durability full: run records (start, end); ×${(full / none).toFixed(0)}` });
  }
  return [
    {
      title: 'Write durability: the cost of fsync (src/util/atomic-write.ts)',
      command: `\`npm run bench -- durability\`: ${WRITES} writes per row through writeAtomicSync, median of 5 batches, on the repository's disk`,
      rows,
      text: 'Every file flowrun writes for others to read goes through one protocol: a new temp file in the target folder, renamed (or linked) into place. fsync of the file and the folder is kept for commit points (the run record at the start and end of a run): applied to every object and task record it would add several times the whole per-task overhead (BENCHMARKS "runtime") to each task. Objects are verified by hash and records by shape on every read, so a file a power loss tore or lost is reported (flow fsck) and resume reruns its task.',
    },
  ];
}
