import { FlowSpec, step, param, type Inputs } from 'flowrun';

/** Fans out over n items (optionally sleeping in each task) and joins the squares in split order. */
export default class ForeachSquaresFlow extends FlowSpec {
  @param({ help: 'number of splits' }) n = 100;
  @param({ help: 'milliseconds each split sleeps' }) sleepMs = 0;

  items!: number[];
  square!: number;
  position!: number;
  squares!: number[];
  positions!: number[];
  total!: number;

  @step start() {
    this.items = [...Array(this.n).keys()];
    this.next(this.work, { foreach: 'items' });
  }

  @step async work() {
    if (this.sleepMs > 0) await new Promise((r) => setTimeout(r, this.sleepMs));
    const x = this.input as number;
    this.square = x * x;
    this.position = this.index;
    this.next(this.join);
  }

  @step join(inputs: Inputs<ForeachSquaresFlow>) {
    this.squares = inputs.map((i) => i.square);
    this.positions = inputs.map((i) => i.position);
    this.total = this.squares.reduce((s, v) => s + v, 0);
    this.next(this.end);
  }

  @step end() {}
}
