import { FlowSpec, step, catchError } from 'flowrun';

/** risky throws; @catchError stores the error in `err` without printing it, and the flow goes on. */
export default class QuietCatchFlow extends FlowSpec {
  err!: { code: string; message: string } | undefined;
  afterwards!: string;

  @step start() {
    this.next(this.risky);
  }

  @catchError({ var: 'err', printException: false })
  @step risky() {
    throw new Error('risky step blew up');
    this.next(this.after);
  }

  @step after() {
    this.afterwards = `continued after: ${this.err?.message ?? 'nothing'}`;
    this.next(this.end);
  }

  @step end() {}
}
