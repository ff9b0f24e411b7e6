import { FlowSpec, step, type Inputs } from 'flowrun';

/** Split 1 of three throws; the others succeed. */
export default class TaskThrowsFlow extends FlowSpec {
  items!: number[];
  value!: number;
  values!: number[];

  @step start() {
    this.items = [0, 1, 2];
    this.next(this.work, { foreach: 'items' });
  }

  @step work() {
    console.error(`work ${this.index}: starting on stderr`);
    if (this.index === 1) throw new Error('boom in split 1');
    this.value = this.input as number;
    this.next(this.join);
  }

  @step join(inputs: Inputs<TaskThrowsFlow>) {
    this.values = inputs.map((i) => i.value);
    this.next(this.end);
  }

  @step end() {}
}
