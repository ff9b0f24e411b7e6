import { FlowSpec, step, param, type Inputs } from 'flowrun';

/** flow spin's test flow: a foreach whose tasks draw from Math.random and read a param, and a join. */
export default class SpinFlow extends FlowSpec {
  @param({ help: 'scale' }) scale = 2;

  items!: number[];
  noise!: number;
  score!: number;
  total!: number;

  @step start() {
    this.items = [10, 20, 30];
    this.next(this.fit, { foreach: 'items' });
  }

  @step fit() {
    this.noise = Math.random();
    this.score = (this.input as number) * this.scale;
    console.log(`fit ${this.index}: ${this.score}`);
    this.next(this.join);
  }

  @step join(inputs: Inputs<SpinFlow>) {
    this.total = inputs.reduce((n, i) => n + i.score, 0);
    this.next(this.end);
  }

  @step end() {}
}
