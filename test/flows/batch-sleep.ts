import { FlowSpec, step, type Inputs } from 'flowrun';

/** A foreach whose tasks sleep long enough to be interrupted. */
export default class BatchSleepFlow extends FlowSpec {
  items!: number[];

  @step start() {
    this.items = [0, 1, 2];
    this.next(this.nap, { foreach: 'items' });
  }

  @step async nap() {
    await new Promise((r) => setTimeout(r, 60_000));
    this.next(this.join);
  }

  @step join(_inputs: Inputs<BatchSleepFlow>) {
    this.next(this.end);
  }

  @step end() {}
}
