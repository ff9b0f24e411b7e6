import { FlowSpec, includeFile, step } from 'flowrun';

/** Reads its data through @includeFile: the content is pinned in the store by hash. */
export default class IncludeFlow extends FlowSpec {
  @includeFile({ help: 'rows, one per line' }) data = 'data.txt';
  @includeFile({ help: 'raw bytes', binary: true }) raw = 'data.txt';
  rows!: string[];
  bytes!: number;
  isBuffer!: boolean;

  @step start() {
    this.rows = this.data.trim().split('\n');
    const raw = this.raw as unknown as Buffer;
    this.bytes = raw.byteLength;
    this.isBuffer = Buffer.isBuffer(raw);
    this.next(this.end);
  }

  @step end() {}
}
