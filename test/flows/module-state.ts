import { FlowSpec, step, type Inputs } from 'flowrun';

/** Module-level state: every task must start from a fresh module, so each task sees 1. */
let counter = 0;

export default class ModuleStateFlow extends FlowSpec {
  items!: number[];
  seen!: number;
  seenAll!: number[];

  @step start() {
    this.items = [...Array(20).keys()];
    this.next(this.work, { foreach: 'items' });
  }

  @step work() {
    counter += 1;
    this.seen = counter;
    this.next(this.join);
  }

  @step join(inputs: Inputs<ModuleStateFlow>) {
    this.seenAll = inputs.map((i) => i.seen);
    this.next(this.end);
  }

  @step end() {}
}
