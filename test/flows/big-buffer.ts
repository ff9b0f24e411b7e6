import { FlowSpec, step } from 'flowrun';

const SIZE = 50 * 1024 * 1024;

/** Deterministic, incompressible bytes (xorshift32), so compression cannot hide the size. */
function noise(size: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let s = 0x9e3779b9;
  for (let i = 0; i < size; i += 4) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    buf.writeUInt32LE(s >>> 0, i);
  }
  return buf;
}

/** Stores a 50 MiB Buffer artifact; identical in every run. */
export default class BigBufferFlow extends FlowSpec {
  blob!: Buffer;
  blobBytes!: number;

  @step start() {
    this.blob = noise(SIZE);
    this.blobBytes = this.blob.byteLength;
    this.next(this.end);
  }

  @step end() {}
}
