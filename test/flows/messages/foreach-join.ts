import { FlowSpec, step } from 'flowrun';

export default class ForeachJoinFlow extends FlowSpec {
  items!: number[];
  @step start() { this.items = [1, 2]; this.next(this.fit, { foreach: 'items' }); }
  @step fit() { this.next(this.join); }
  @step join() { this.next(this.end); }
  @step end() {}
}
