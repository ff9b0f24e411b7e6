import { FlowSpec, step } from 'flowrun';
import { existsSync } from 'node:fs';

/** A step that prints, then waits until the file named by SLOW_RELEASE exists: a run to watch live. */
export default class UiSlowFlow extends FlowSpec {
  @step start() {
    console.log('tick before the wait');
    const release = process.env.SLOW_RELEASE!;
    const until = Date.now() + 60_000;
    while (!existsSync(release) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    console.log('released');
    this.next(this.end);
  }

  @step end() {}
}
