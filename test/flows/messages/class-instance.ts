import { FlowSpec, step } from 'flowrun';

class Model {
  constructor(public weights: number[]) {}
}

export default class ClassInstanceFlow extends FlowSpec {
  model!: Model;
  @step start() { this.model = new Model([1, 2]); this.next(this.end); }
  @step end() {}
}
