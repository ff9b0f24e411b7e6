import { FlowSpec, step } from 'flowrun';

/** A step that calls process.exit(3): the worker dies, the orchestrator must not. */
export default class TaskExitFlow extends FlowSpec {
  before!: string;

  @step start() {
    this.before = 'ok';
    this.next(this.crash);
  }

  @step crash() {
    console.log('crash: about to exit');
    process.exit(3);
    this.next(this.end);
  }

  @step end() {}
}
