import { FlowSpec, step, timeout } from 'flowrun';

/** A step that never returns (a busy loop: it never yields to the event loop either). */
export default class TaskTimeoutFlow extends FlowSpec {
  spins!: number;

  @step start() {
    this.next(this.hang);
  }

  @timeout({ seconds: 1 })
  @step hang() {
    let spins = 0;
    for (;;) spins++;
    this.spins = spins;
    this.next(this.end);
  }

  @step end() {}
}
