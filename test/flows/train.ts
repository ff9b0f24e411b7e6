import { FlowSpec, step, param, retry, type Inputs } from 'flowrun';

/** Trains a model over folds. */
export default class TrainFlow extends FlowSpec {
  @param({ help: 'learning rate' }) alpha = 0.01;
  @param({ help: 'number of folds' }) folds = 4;

  splits!: number[];
  score!: number;
  best!: number;

  /** Make the splits. */
  @step start() {
    this.splits = [...Array(this.folds).keys()];
    this.next(this.fit, { foreach: 'splits' });
  }

  @retry({ times: 2 })
  @step async fit() {
    this.score = (this.input as number) * this.alpha;
    this.next(this.join);
  }

  @step join(inputs: Inputs<TrainFlow>) {
    this.best = Math.max(...inputs.map((i) => i.score));
    this.next(this.end);
  }

  @step end() {}
}
