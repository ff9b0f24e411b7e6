import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export type Stream = 'stdout' | 'stderr';

/** Receives a task's output as text; a returned promise holds back further reads (backpressure). */
export type OutputSink = (stream: Stream, text: string) => void | Promise<void>;

const CHUNK = 64 << 10;
/** What one poll reads per stream at most, so one chatty task does not starve the others. */
const POLL_BUDGET = 1 << 20;

/**
 * Follows a running attempt's log files for the live view: each poll reads what was appended
 * since the last one and hands it to the sink, decoded without splitting a UTF-8 character.
 * Memory is one chunk buffer plus what the sink holds, whatever the log's size.
 */
export class LogFollower {
  private readonly offsets: Record<Stream, number> = { stdout: 0, stderr: 0 };
  private readonly decoders: Record<Stream, StringDecoder> = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  private reading?: Promise<void>;

  constructor(
    private readonly files: Record<Stream, string>,
    private readonly sink: OutputSink,
  ) {}

  /** Reads new output unless a read is still under way (it is waiting for the sink). */
  poll(): void {
    this.reading ??= this.read(POLL_BUDGET, false).finally(() => {
      this.reading = undefined;
    });
  }

  /** Reads everything up to the end of both files: call once the attempt wrote its last byte. */
  async finish(): Promise<void> {
    while (this.reading) await this.reading;
    await this.read(Infinity, true);
  }

  private async read(budget: number, final: boolean): Promise<void> {
    for (const stream of ['stdout', 'stderr'] as const) {
      let fd: number;
      try {
        fd = openSync(this.files[stream], 'r');
      } catch {
        continue;
      } // not created yet
      try {
        for (let left = budget; left > 0; ) {
          const n = readSync(fd, this.buf, 0, Math.min(CHUNK, left), this.offsets[stream]);
          if (n === 0) break;
          this.offsets[stream] += n;
          left -= n;
          const text = this.decoders[stream].write(this.buf.subarray(0, n));
          if (text) await this.sink(stream, text);
        }
      } finally {
        closeSync(fd);
      }
      if (final) {
        const rest = this.decoders[stream].end();
        if (rest) await this.sink(stream, rest);
      }
    }
  }
}
