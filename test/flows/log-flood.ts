import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FlowSpec, step, param, retry, type Inputs } from 'flowrun';

/**
 * Every split prints `lines` numbered lines naming itself, in bursts on stdout and stderr, with
 * raw writeSync calls and a child process writing into the same log; one line forges the old
 * end marker. The logs must hold exactly these lines, in order, and nothing else.
 */
export default class LogFloodFlow extends FlowSpec {
  @param({ help: 'number of splits' }) n = 50;
  @param({ help: 'lines per split' }) lines = 20000;

  items!: number[];
  printed!: number;
  total!: number;

  @step start() {
    this.items = [...Array(this.n).keys()];
    this.next(this.work, { foreach: 'items' });
  }

  @step work() {
    const task = this.input as number;
    const line = (i: number) => `task ${task} line ${i}\n`;
    let i = 0;
    for (; i < this.lines / 2; i++) process.stdout.write(line(i));
    // The framing the old pool used; a task printing it must not cut its own log short.
    process.stdout.write(`task ${task} line ${i++} \u0000flowrun:end:1\u0000\n`);
    // A burst far larger than a pipe's buffer, in one raw write (EAGAIN on a non-blocking pipe).
    let burst = '';
    for (; i < (this.lines * 3) / 4; i++) burst += line(i);
    writeSync(1, burst);
    // A child process writes into the same stdout, in order with the task's own writes.
    const upTo = Math.min(this.lines - 1, i + 99);
    spawnSync('sh', ['-c', `i=${i}; while [ $i -le ${upTo} ]; do echo "task ${task} line $i"; i=$((i+1)); done`], { stdio: 'inherit' });
    i = upTo + 1;
    for (; i < this.lines; i++) console.log(`task ${task} line ${i}`);
    for (let j = 0; j < 100; j++) console.error(`task ${task} err ${j}`);
    this.printed = this.lines;
    this.next(this.join);
  }

  @step join(inputs: Inputs<LogFloodFlow>) {
    this.total = inputs.reduce((s, x) => s + x.printed, 0);
    this.next(this.again);
  }

  /** Fails on its first attempt (counted in a file): each attempt's logs are kept. */
  @retry({ times: 1 })
  @step again() {
    const file = join(process.cwd(), 'again-attempts.txt');
    const attempt = existsSync(file) ? Number(readFileSync(file, 'utf8')) + 1 : 1;
    writeFileSync(file, String(attempt));
    console.log(`attempt ${attempt} output`);
    if (attempt === 1) throw new Error('first attempt fails');
    this.next(this.end);
  }

  @step end() {}
}
