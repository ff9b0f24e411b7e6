import { FlowSpec, step, param, includeFile, type Inputs } from 'flowrun';

/** A small regression flow for flow diff: a shuffle (seed), a param-driven grid, a foreach, a big artifact. */
export default class DiffWhyFlow extends FlowSpec {
  @param({ help: 'penalty scale' }) alpha = 0.1;
  @param({ help: 'fail the fit step' }) fail = false;
  @param({ help: 'extra rows in the big artifact' }) extra = 0;
  @includeFile({ help: 'rows' }) data = 'rows.csv';

  rows!: number[][];
  order!: number[];
  big!: number[];
  grid!: number[];
  model!: { w: number; b: number; lam: number };
  score!: number;
  best!: { lam: number; score: number };

  @step start() {
    this.rows = this.data.trim().split('\n').map((l) => l.split(',').map(Number));
    this.order = this.rows.map((_, i) => i).sort(() => Math.random() - 0.5);
    this.next(this.prep);
  }

  @step prep() {
    this.grid = [1, 10].map((g) => g * this.alpha);
    this.next(this.fit, { foreach: 'grid' });
  }

  @step fit() {
    if (this.fail) throw new Error('fit failed on purpose');
    const lam = this.input as number;
    this.model = { w: 1 / (1 + lam), b: this.order[0]! / 10, lam };
    this.score = this.model.w * this.rows.length;
    this.next(this.join);
  }

  @step join(inputs: Inputs<DiffWhyFlow>) {
    const best = inputs.reduce((x, y) => (x.score > y.score ? x : y));
    this.best = { lam: best.model.lam, score: best.score };
    this.next(this.end);
  }

  @step end() {
    this.big = Array.from({ length: 20_000 + this.extra }, (_, i) => i);
  }
}
