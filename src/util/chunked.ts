/**
 * Bytes that are read when written, in chunks (a slice of a file kept open): printing them
 * touches one chunk's memory, not their whole size (issue #18: on the project's machine, memory
 * touched for the first time costs more than reading the bytes). `toString()` is their UTF-8 text.
 */
export interface ChunkedBytes {
  readonly byteLength: number;
  /** Calls `use` with the bytes in order: each chunk is valid only during the call. */
  eachChunk(use: (chunk: Uint8Array) => void): void;
  /** The bytes from `offset` on, in a buffer of their own. */
  bytesFrom(offset: number): Buffer;
  toString(): string;
}

export function isChunkedBytes(x: unknown): x is ChunkedBytes {
  return typeof x === 'object' && x !== null && typeof (x as Partial<ChunkedBytes>).eachChunk === 'function';
}
