import { FlowSpec, step, param, type Inputs } from 'flowrun';

/** Small flow read back through the client API. --fail makes the join throw. */
export default class ClientFlow extends FlowSpec {
  @param({ help: 'score multiplier' }) alpha = 1;
  @param({ help: 'fail in the join' }) fail = false;

  splits!: number[];
  score!: number;
  best!: number;

  @step start() {
    this.splits = [1, 2, 3];
    this.next(this.fit, { foreach: 'splits' });
  }

  @step fit() {
    console.log(`fitting split ${this.index} on ${this.input as number}`);
    this.score = (this.input as number) * this.alpha;
    this.next(this.join);
  }

  @step join(inputs: Inputs<ClientFlow>) {
    if (this.fail) throw new Error('join failed on purpose');
    this.best = Math.max(...inputs.map((i) => i.score));
    this.next(this.end);
  }

  @step end() {}
}
