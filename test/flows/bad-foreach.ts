import { FlowSpec, step, param, type Inputs } from 'flowrun';

/** --mode notIterable | empty | ok: what start hands to the foreach. */
export default class BadForeachFlow extends FlowSpec {
  @param({ help: 'notIterable, empty or ok' }) mode = 'ok';
  @param({ help: 'number of items in ok mode' }) n = 3;

  items!: number[];
  doubled!: number;
  all!: number[];

  @step start() {
    const value: unknown = this.mode === 'notIterable' ? 42 : this.mode === 'empty' ? [] : [...Array(this.n).keys()];
    this.items = value as number[];
    this.next(this.work, { foreach: 'items' });
  }

  @step work() {
    this.doubled = (this.input as number) * 2;
    this.next(this.join);
  }

  @step join(inputs: Inputs<BadForeachFlow>) {
    this.all = inputs.map((i) => i.doubled);
    this.next(this.end);
  }

  @step end() {}
}
