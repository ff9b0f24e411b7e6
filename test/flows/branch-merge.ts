import { FlowSpec, step, param, type Inputs } from 'flowrun';

/**
 * A static branch closed by a join that merges the branches' artifacts. With --clash the two
 * branches disagree on `shared`, which mergeArtifacts must report as MERGE_CONFLICT.
 */
export default class BranchMergeFlow extends FlowSpec {
  @param({ help: 'make the branches disagree on shared' }) clash = false;

  base!: string;
  left!: number;
  right!: number;
  shared!: string;
  who!: string;
  seen!: string[];

  @step start() {
    this.base = 'from-start';
    this.next(this.a, this.b);
  }

  @step a() {
    this.left = 1;
    this.shared = 'same';
    this.who = 'a';
    this.next(this.join);
  }

  @step b() {
    this.right = 2;
    this.shared = this.clash ? 'different' : 'same';
    this.who = 'b';
    this.next(this.join);
  }

  @step join(inputs: Inputs<BranchMergeFlow>) {
    this.seen = inputs.map((i) => i.who).sort();
    this.mergeArtifacts(inputs, { exclude: ['who'] });
    this.next(this.end);
  }

  @step end() {}
}
