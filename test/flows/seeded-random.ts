import { FlowSpec, step, type Inputs } from 'flowrun';

/** Math.random in every kind of task; with --seed the values repeat exactly. */
export default class SeededRandomFlow extends FlowSpec {
  first!: number;
  items!: number[];
  draws!: number[];
  all!: { first: number; draws: number[][] };

  @step start() {
    this.first = Math.random();
    this.items = [0, 1, 2];
    this.next(this.draw, { foreach: 'items' });
  }

  @step draw() {
    this.draws = [Math.random(), Math.random()];
    this.next(this.join);
  }

  @step join(inputs: Inputs<SeededRandomFlow>) {
    this.all = { first: inputs[0]!.first, draws: inputs.map((i) => i.draws) };
    this.next(this.end);
  }

  @step end() {}
}
