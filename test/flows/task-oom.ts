import { FlowSpec, step, resources } from 'flowrun';

/** Allocates without bound under a 64 MiB heap limit. */
export default class TaskOomFlow extends FlowSpec {
  size!: number;

  @step start() {
    this.next(this.hog);
  }

  @resources({ memory: 64 })
  @step hog() {
    const hoard: number[][] = [];
    for (;;) hoard.push(new Array(100_000).fill(hoard.length));
    this.size = hoard.length;
    this.next(this.end);
  }

  @step end() {}
}
