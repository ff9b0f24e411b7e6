import { FlowSpec, step } from 'flowrun';
import { readFileSync } from 'node:fs';

/** Not reproducible on purpose: reads the clock and a file outside the code package. */
export default class ClockFlow extends FlowSpec {
  fixed!: number;
  stamp!: number;
  outside!: string;
  @step start() { this.fixed = 42; this.next(this.work); }
  @step work() { this.stamp = Date.now(); this.outside = readFileSync(process.env.OUTSIDE_FILE ?? '/dev/null', 'utf8'); this.next(this.end); }
  @step end() {}
}
