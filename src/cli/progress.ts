import type { TransferProgress } from '../mirror/push.js';
import { formatBytes } from '../util/bytes.js';

/**
 * A one-line transfer progress bar on stderr, redrawn at most 10 times a second; silent when
 * stderr is not a terminal (CI logs get the final summary lines only).
 */
export function transferProgress(verb: string, enabled = process.stderr.isTTY === true): { update: (p: TransferProgress) => void; done: () => void } {
  let last = 0;
  let drawn = false;
  const draw = (p: TransferProgress) => {
    const width = 24;
    const frac = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : p.objectsTotal > 0 ? p.objectsDone / p.objectsTotal : 1;
    const filled = Math.round(Math.min(1, frac) * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    process.stderr.write(`\r${verb} ${p.run} ${bar} ${p.objectsDone}/${p.objectsTotal} objects, ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}\x1b[K`);
    drawn = true;
  };
  return {
    update: (p) => {
      if (!enabled) return;
      const now = Date.now();
      if (now - last < 100 && p.objectsDone < p.objectsTotal) return;
      last = now;
      draw(p);
    },
    done: () => {
      if (drawn) process.stderr.write('\r\x1b[K');
      drawn = false;
    },
  };
}
