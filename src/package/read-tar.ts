import { Parser, type ReadEntry } from 'tar';

/** One entry of a tar as read back: its header, and its content when the caller asked for it. */
export interface TarEntry {
  path: string;
  type: ReadEntry['type'];
  size: number;
  mode: number;
  linkpath?: string;
  data?: Buffer;
}

/**
 * Every entry of an uncompressed tar held in memory, in archive order, with the content of the
 * entries `wantData` picks; synchronous (node-tar parses a buffer as it is written). The one
 * reader of code packages for listing, manifests and file views; extraction goes through
 * safe-extract.ts instead. Strict: the first parse error (a truncated or damaged tar) is thrown.
 */
export function readTar(tar: Uint8Array, wantData: (path: string) => boolean = () => false): TarEntry[] {
  const out: TarEntry[] = [];
  const errors: unknown[] = [];
  const parser = new Parser({
    strict: true,
    onReadEntry: (e: ReadEntry) => {
      const entry: TarEntry = { path: e.path, type: e.type, size: e.size ?? 0, mode: e.mode ?? 0, ...(e.linkpath ? { linkpath: e.linkpath } : {}) };
      out.push(entry);
      if (!wantData(e.path)) {
        e.resume();
        return;
      }
      const chunks: Buffer[] = [];
      e.on('data', (c: Buffer) => chunks.push(c));
      e.on('end', () => {
        entry.data = Buffer.concat(chunks);
      });
    },
  });
  parser.on('error', (e: unknown) => {
    errors.push(e);
  });
  parser.end(Buffer.from(tar.buffer, tar.byteOffset, tar.byteLength));
  if (errors.length) throw errors[0];
  return out;
}
