import { FlowSpec, step, param, type Inputs } from 'flowrun';

/**
 * Each split counts its calls in a global, as a careless step would: isolated tasks all see 1,
 * whichever worker ran them and whatever ran there before. Also draws from Math.random.
 */
export default class GlobalCounterFlow extends FlowSpec {
  @param({ help: 'number of splits' }) n = 12;

  items!: number[];
  calls!: number;
  draw!: number;
  counts!: number[];

  @step start() {
    this.items = [...Array(this.n).keys()];
    this.next(this.work, { foreach: 'items' });
  }

  @step work() {
    const g = globalThis as { calls?: number };
    g.calls = (g.calls ?? 0) + 1;
    this.calls = g.calls;
    this.draw = Math.random();
    this.next(this.join);
  }

  @step join(inputs: Inputs<GlobalCounterFlow>) {
    this.counts = inputs.map((i) => i.calls);
    this.next(this.end);
  }

  @step end() {}
}
