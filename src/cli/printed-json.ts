import { type ChunkedBytes, isChunkedBytes } from '../util/chunked.js';

/**
 * A command's --json result already printed as text (`JSON.stringify(value, null, 2)` of the
 * value it stands for), in pieces to write one after the other (a 1.7 MB listing is never copied
 * into one string): the command prints them as they are. As a value (a programmatic
 * `Command.run()`, or a logJson that does not know it) it is the parsed value.
 */
export class PrintedJson {
  /** Strings, and bytes of UTF-8 (slices of the run index's file: ASCII, read when written), written as they are. */
  constructor(readonly pieces: ReadonlyArray<string | Uint8Array | ChunkedBytes>) {}

  toJSON(): unknown {
    return JSON.parse(this.pieces.map((p) => (typeof p === 'string' || isChunkedBytes(p) ? p.toString() : Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('utf8'))).join(''));
  }
}
