import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlowSpec, step, retry } from 'flowrun';

/** flaky fails on its first two attempts (counted in a file in the project dir), then succeeds. */
export default class RetryCounterFlow extends FlowSpec {
  attemptsSeen!: number;

  @step start() {
    this.next(this.flaky);
  }

  @retry({ times: 2 })
  @step flaky() {
    const file = join(process.cwd(), 'attempts.txt');
    const attempt = existsSync(file) ? Number(readFileSync(file, 'utf8')) + 1 : 1;
    writeFileSync(file, String(attempt));
    if (attempt < 3) throw new Error(`flaky attempt ${attempt} failed`);
    this.attemptsSeen = attempt;
    this.next(this.end);
  }

  @step end() {}
}
