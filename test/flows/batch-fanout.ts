import { FlowSpec, step, param, type Inputs } from 'flowrun';

/** A static branch and a foreach: every kind of task (linear, branch, foreach split, joins). */
export default class BatchFanoutFlow extends FlowSpec {
  @param({ help: 'number of splits' }) n = 50;

  left!: number;
  right!: string;
  both!: string;
  items!: number[];
  square!: number;
  noise!: number;
  total!: number;
  noises!: number[];

  @step start() {
    this.next(this.a, this.b);
  }

  @step a() {
    this.left = 21 * 2;
    this.next(this.merge);
  }

  @step b() {
    this.right = 'right';
    this.next(this.merge);
  }

  @step merge(inputs: Inputs<BatchFanoutFlow>) {
    this.both = `${inputs[0]!.left}-${inputs[1]!.right}`;
    this.next(this.split);
  }

  @step split() {
    this.items = [...Array(this.n).keys()];
    this.next(this.fit, { foreach: 'items' });
  }

  @step fit() {
    this.square = (this.input as number) ** 2;
    this.noise = Math.random();
    console.log(`split ${this.index}: ${this.square}`);
    this.next(this.gather);
  }

  @step gather(inputs: Inputs<BatchFanoutFlow>) {
    this.total = inputs.reduce((s, i) => s + i.square, 0);
    this.noises = inputs.map((i) => i.noise);
    this.both = inputs[0]!.both;
    this.next(this.end);
  }

  @step end() {}
}
