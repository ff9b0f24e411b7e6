import { FlowSpec, step, type Inputs } from 'flowrun';

/** A 2x3 nested foreach: rows x cols, joined back into a grid of labels. */
export default class NestedGridFlow extends FlowSpec {
  rows!: number[];
  cols!: string[];
  r!: number;
  label!: string;
  labels!: string[];
  grid!: string[][];

  @step start() {
    this.rows = [0, 1];
    this.next(this.outer, { foreach: 'rows' });
  }

  @step outer() {
    this.r = this.input as number;
    this.cols = ['a', 'b', 'c'];
    this.next(this.inner, { foreach: 'cols' });
  }

  @step inner() {
    this.label = `${this.r}${this.input as string}@${this.index}`;
    this.next(this.joinCols);
  }

  @step joinCols(inputs: Inputs<NestedGridFlow>) {
    this.labels = inputs.map((i) => i.label);
    this.next(this.joinRows);
  }

  @step joinRows(inputs: Inputs<NestedGridFlow>) {
    this.grid = inputs.map((i) => i.labels);
    this.next(this.end);
  }

  @step end() {}
}
