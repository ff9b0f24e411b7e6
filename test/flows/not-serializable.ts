import { FlowSpec, step } from 'flowrun';

/** Stores a function inside an artifact: ARTIFACT_NOT_SERIALIZABLE at model.predict. */
export default class NotSerializableFlow extends FlowSpec {
  model!: { name: string; predict: (x: number) => number };

  @step start() {
    this.next(this.train);
  }

  @step train() {
    this.model = { name: 'linear', predict: (x: number) => x * 2 };
    this.next(this.end);
  }

  @step end() {}
}
