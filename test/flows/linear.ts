import { FlowSpec, step } from 'flowrun';

/** start -> double -> describe -> end: each step reads what the previous one stored. */
export default class LinearFlow extends FlowSpec {
  x!: number;
  doubled!: number;
  result!: { x: number; doubled: number; note: string };

  @step start() {
    this.x = 21;
    console.log('start: x =', this.x);
    this.next(this.double);
  }

  @step double() {
    this.doubled = this.x * 2;
    this.next(this.describe);
  }

  @step describe() {
    this.result = { x: this.x, doubled: this.doubled, note: 'linear' };
    this.next(this.end);
  }

  @step end() {}
}
