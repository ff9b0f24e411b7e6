import { FlowSpec, step } from 'flowrun';

export default class BranchJoinFlow extends FlowSpec {
  @step start() { this.next(this.a, this.b); }
  @step a() { this.next(this.join); }
  @step b() { this.next(this.join); }
  @step join() { this.next(this.end); }
  @step end() {}
}
