import { FlowSpec, step, param, type Inputs } from 'flowrun';

/** Deterministic given the seed: a branch, a foreach and Math.random. */
export default class ReproFlow extends FlowSpec {
  @param({ help: 'items' }) n = 6;
  base!: number;
  items!: number[];
  a!: number;
  b!: number;
  draw!: number;
  draws!: number[];
  total!: number;

  @step start() {
    this.base = Math.random();
    this.next(this.left, this.right);
  }
  @step left() { this.a = this.base * 2; this.next(this.merge); }
  @step right() { this.b = Math.random(); this.next(this.merge); }
  @step merge(inputs: Inputs<ReproFlow>) {
    this.mergeArtifacts(inputs);
    this.next(this.fan);
  }
  @step fan() {
    this.items = Array.from({ length: this.n }, (_, i) => i);
    this.next(this.sample, { foreach: 'items' });
  }
  @step sample() { this.draw = (this.input as number) + Math.random(); this.next(this.collect); }
  @step collect(inputs: Inputs<ReproFlow>) {
    this.mergeArtifacts(inputs, { exclude: ['draw'] });
    this.draws = inputs.map((i) => i.draw);
    this.next(this.end);
  }
  @step end() { this.total = this.draws.reduce((x, y) => x + y, 0) + this.a + this.b; }
}
