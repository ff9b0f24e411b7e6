import { FlowSpec, step, type Inputs } from 'flowrun';

/** One branch fans out (foreach) and joins back before the branches themselves join. */
export default class ForeachInBranchFlow extends FlowSpec {
  seeds!: number[];
  trialValue!: number;
  part!: number;
  kind!: string;
  parts!: Record<string, number>;

  @step start() {
    this.next(this.fan, this.single);
  }

  @step fan() {
    this.seeds = [1, 2, 3];
    this.next(this.trial, { foreach: 'seeds' });
  }

  @step trial() {
    this.trialValue = (this.input as number) * 10;
    this.next(this.trialJoin);
  }

  @step trialJoin(inputs: Inputs<ForeachInBranchFlow>) {
    this.part = inputs.reduce((s, i) => s + i.trialValue, 0);
    this.kind = 'fan';
    this.next(this.join);
  }

  @step single() {
    this.part = 5;
    this.kind = 'single';
    this.next(this.join);
  }

  @step join(inputs: Inputs<ForeachInBranchFlow>) {
    this.parts = Object.fromEntries(inputs.map((i) => [i.kind, i.part]));
    this.next(this.end);
  }

  @step end() {}
}
