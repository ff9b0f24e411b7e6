import { FlowSpec, step, param, retry, type Inputs } from 'flowrun';

/**
 * A toy training flow: a static branch prepares features and a baseline in parallel,
 * then a foreach fits one model per fold and a join keeps the best.
 */
export default class TrainFlow extends FlowSpec {
  @param({ help: 'learning rate' }) alpha = 0.01;
  @param({ help: 'number of folds' }) folds = 4;

  data!: number[];
  features!: number[];
  baseline!: number;
  splits!: number[];
  score!: number;
  best!: number;

  /** Make a small synthetic data set. */
  @step start() {
    this.data = Array.from({ length: 100 }, (_, i) => Math.sin(i) * 10);
    this.next(this.scale, this.mean);
  }

  /** Scale the data. */
  @step scale() {
    this.features = this.data.map((x) => x / 10);
    this.next(this.prepare);
  }

  /** A constant-prediction baseline. */
  @step mean() {
    this.baseline = this.data.reduce((a, b) => a + b, 0) / this.data.length;
    this.next(this.prepare);
  }

  /** Merge the branches. */
  @step prepare(inputs: Inputs<TrainFlow>) {
    this.mergeArtifacts(inputs);
    this.next(this.split);
  }

  /** One task per fold. */
  @step split() {
    this.splits = [...Array(this.folds).keys()];
    this.next(this.fit, { foreach: 'splits' });
  }

  /** Fit one fold. */
  @retry({ times: 2 })
  @step async fit() {
    const fold = this.input as number;
    const held = this.features.filter((_, i) => i % this.folds === fold);
    this.score = 1 - Math.abs(held.reduce((a, b) => a + b, 0) * this.alpha - this.baseline / 100);
    this.next(this.join);
  }

  /** Keep the best fold. */
  @step join(inputs: Inputs<TrainFlow>) {
    this.best = Math.max(...inputs.map((i) => i.score));
    this.next(this.end);
  }

  @step end() {
    console.log(`best score ${this.best.toFixed(4)}`);
  }
}
