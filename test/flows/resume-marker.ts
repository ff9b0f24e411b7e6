import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FlowSpec, step, type Inputs } from 'flowrun';

/** Split 1 of work fails while the file fail-marker exists in the project dir. */
export default class ResumeMarkerFlow extends FlowSpec {
  items!: number[];
  scaled!: number;
  scaledAll!: number[];
  total!: number;

  @step start() {
    this.items = [1, 2, 3];
    this.next(this.work, { foreach: 'items' });
  }

  @step work() {
    if (this.index === 1 && existsSync(join(process.cwd(), 'fail-marker'))) throw new Error('fail-marker is present');
    this.scaled = (this.input as number) * 10;
    this.next(this.join);
  }

  @step join(inputs: Inputs<ResumeMarkerFlow>) {
    this.scaledAll = inputs.map((i) => i.scaled);
    this.total = this.scaledAll.reduce((s, v) => s + v, 0);
    this.next(this.end);
  }

  @step end() {}
}
