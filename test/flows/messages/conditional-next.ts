import { FlowSpec, step, param } from 'flowrun';

export default class ConditionalFlow extends FlowSpec {
  @param({ help: 'mode' }) fast = true;
  @step start() { if (this.fast) this.next(this.quick); else this.next(this.slow); }
  @step quick() { this.next(this.end); }
  @step slow() { this.next(this.end); }
  @step end() {}
}
