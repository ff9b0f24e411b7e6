import { FlowSpec, step, type Inputs } from 'flowrun';

/** Uses credentials from its environment the way a real flow does: without storing or printing them. */
export default class SecretsFlow extends FlowSpec {
  keyLength!: number;
  hasToken!: boolean;
  parts!: number[];
  done!: number;

  @step start() {
    this.keyLength = (process.env.MY_API_KEY ?? '').length;
    this.hasToken = Boolean(process.env.GITHUB_TOKEN && process.env.AWS_SECRET_ACCESS_KEY);
    this.parts = [1, 2, 3];
    this.next(this.work, { foreach: 'parts' });
  }

  @step work() {
    console.log('working on part', this.input);
    if (process.env.FAIL_PART === String(this.input)) throw new Error(`part ${String(this.input)} failed`);
    this.next(this.join);
  }

  @step join(inputs: Inputs<SecretsFlow>) {
    this.done = inputs.length;
    this.next(this.end);
  }

  @step end() {}
}
