import { FlowSpec, step } from 'flowrun';

export default class UnclosedFlow extends FlowSpec {
  @step start() {
    this.next(this.end);
  }

  @step end() {
    console.log('done'
  }
}
