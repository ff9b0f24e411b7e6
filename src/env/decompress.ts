import { unzipSync } from 'fflate';
import { Decompress as ZstdStream } from 'fzstd';
import bunzip from 'seek-bzip';
import { formatBytes } from '../util/bytes.js';

/**
 * The most a conda package may unpack to. The installer holds a package's tar in memory (it checks
 * every entry before writing any), so without a bound a small archive of zeros (a decompression
 * bomb) would take the machine's memory. 2 GiB is above conda-forge's largest common packages'
 * tars and below Node's Buffer limit.
 */
export const DEFAULT_MAX_UNPACKED_BYTES = 2 * 1024 ** 3;

/** Thrown when an archive would unpack past the bound; the caller names the package. */
export class UnpackLimitError extends Error {
  constructor(readonly limit: number) {
    super(`unpacks to more than ${formatBytes(limit)}`);
  }
}

/** Chunks collected up to `limit` bytes in all; one more byte throws UnpackLimitError. */
class BoundedSink {
  private readonly chunks: Uint8Array[] = [];
  private total = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    if (this.total > this.limit) throw new UnpackLimitError(this.limit);
    this.chunks.push(chunk);
  }
  buffer(): Buffer {
    return Buffer.concat(this.chunks, this.total);
  }
}

/** bzip2 data (every stream of it, as bzip2 -d does), to at most `limit` bytes. */
export function bunzipBounded(data: Uint8Array, limit: number): Buffer {
  const sink = new BoundedSink(limit);
  const block = Buffer.allocUnsafe(64 * 1024);
  let pos = 0;
  // seek-bzip writes byte by byte into any object with writeByte: fill a block, hand it to the sink.
  const output = {
    writeByte(byte: number): void {
      block[pos++] = byte;
      if (pos === block.length) {
        sink.push(Buffer.from(block));
        pos = 0;
      }
    },
  };
  bunzip.decode(Buffer.from(data.buffer, data.byteOffset, data.byteLength), output, true);
  if (pos > 0) sink.push(Buffer.from(block.subarray(0, pos)));
  return sink.buffer();
}

/** zstd data, streamed through fzstd's decoder, to at most `limit` bytes. */
export function unzstdBounded(data: Uint8Array, limit: number): Buffer {
  const sink = new BoundedSink(limit);
  const stream = new ZstdStream((chunk) => sink.push(chunk));
  const step = 1024 * 1024;
  for (let at = 0; at < data.length; at += step) stream.push(data.subarray(at, at + step), at + step >= data.length);
  if (data.length === 0) stream.push(data, true);
  return sink.buffer();
}

/**
 * The members of a zip whose names pass `wanted`, to at most `limit` bytes in all. fflate
 * inflates a member into a buffer of its declared size and never past it, so checking the
 * declared sizes first bounds what is allocated.
 */
export function unzipBounded(data: Uint8Array, wanted: (name: string) => boolean, limit: number): Record<string, Uint8Array> {
  let declared = 0;
  return unzipSync(data, {
    filter: (f) => {
      if (!wanted(f.name)) return false;
      declared += f.originalSize;
      if (declared > limit) throw new UnpackLimitError(limit);
      return true;
    },
  });
}
