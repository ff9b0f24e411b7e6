import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { DiskStore, SyncStore } from '../store/types.js';

/** An attempt in progress, as the orchestrator of a running run last wrote it. */
export interface LiveTask {
  step: string;
  id: string;
  attempt: number;
  started: string;
}

export interface LiveStatus {
  run: string;
  updated: string;
  running: LiveTask[];
}

/** Each running attempt's output is kept for the live view up to this size per stream. */
export const LIVE_LOG_MAX_BYTES = 8 << 20;

const STEP = /^[A-Za-z_$][\w$]*$/;
const TASK = /^\d+(\.\d+)*$/;

export const liveDir = (run: string) => `live/${run}`;
export const liveStatusPath = (run: string) => `live/${run}/status.json`;
export const liveLogPath = (run: string, step: string, id: string, attempt: number, stream: 'stdout' | 'stderr') => `live/${run}/logs/${step}.${id}.${attempt}.${stream === 'stdout' ? 'out' : 'err'}`;

/** The attempts a running run has in progress (undefined when it wrote none: finished, or an older flowrun). */
export function readLiveStatus(store: SyncStore, run: string): LiveStatus | undefined {
  if (!/^run-\d+$/.test(run)) return undefined;
  try {
    const s = store.readRecordSync<LiveStatus>(liveStatusPath(run));
    return s && Array.isArray(s.running) ? { ...s, running: s.running.filter((t) => STEP.test(t.step) && TASK.test(t.id) && Number.isInteger(t.attempt)) } : undefined;
  } catch {
    return undefined; // being rewritten or removed as the run ends: the next poll sees the records
  }
}

/**
 * A running attempt's output from byte `offset` on (at most `max` bytes, cut back to a whole
 * UTF-8 character), and the offset to ask for next. Undefined when there is none (not started
 * writing, or already finished: its stored log is the one to read).
 */
export function readLiveLog(store: DiskStore, t: { run: string; step: string; id: string; attempt: number }, stream: 'stdout' | 'stderr', offset: number, max = 1 << 20): { text: string; next: number; size: number; cut: boolean } | undefined {
  if (!/^run-\d+$/.test(t.run) || !STEP.test(t.step) || !TASK.test(t.id) || !Number.isInteger(t.attempt) || t.attempt < 0) return undefined;
  let fd: number;
  try {
    fd = openSync(join(store.root, liveLogPath(t.run, t.step, t.id, t.attempt, stream)), 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const from = Math.max(0, Math.min(offset, size));
    const buf = Buffer.alloc(Math.min(max, size - from));
    const n = readSync(fd, buf, 0, buf.byteLength, from);
    const end = wholeChars(buf.subarray(0, n));
    return { text: buf.toString('utf8', 0, end), next: from + end, size, cut: size >= LIVE_LOG_MAX_BYTES };
  } finally {
    closeSync(fd);
  }
}

/** The length of the longest prefix that does not end inside a UTF-8 sequence. */
function wholeChars(b: Buffer): number {
  let i = b.byteLength;
  let back = 0;
  while (i > 0 && back < 4 && (b[i - 1]! & 0xc0) === 0x80) {
    i--;
    back++;
  }
  if (i === 0) return b.byteLength;
  const lead = b[i - 1]!;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return need === back + 1 || need === 1 ? b.byteLength : i - 1;
}
