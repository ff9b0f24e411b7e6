import { FlowSpec, step } from 'flowrun';

/** A small flow whose store holds every kind of object: raw and gzip artifacts, a 1 MiB blob, logs. */
export default class RobustFlow extends FlowSpec {
  x!: number;
  doubled!: number;
  text!: string;
  blob!: Uint8Array;

  @step start() {
    this.x = 21;
    this.text = 'flowrun '.repeat(1000);
    this.blob = new Uint8Array(1 << 20).fill(7);
    console.log('start ran');
    this.next(this.double);
  }

  @step double() {
    this.doubled = this.x * 2;
    this.next(this.end);
  }

  @step end() {}
}
