import { FlowSpec, step } from 'flowrun';

export default class MissingStepFlow extends FlowSpec {
  @step start() { this.next(this.train); }
  train() { this.next(this.end); }
  @step end() {}
}
