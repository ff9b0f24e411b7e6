import { FlowSpec, step, type Inputs } from 'flowrun';

const delay = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

/** Every kind of step is async and awaits real timers before setting its artifacts. */
export default class AsyncStepsFlow extends FlowSpec {
  items!: number[];
  doubled!: number;
  collected!: number[];
  finalNote!: string;

  @step async start() {
    this.items = await delay(20, [1, 2, 3]);
    this.next(this.work, { foreach: 'items' });
  }

  @step async work() {
    const [a, b] = await Promise.all([delay(30, this.input as number), delay(10, this.input as number)]);
    this.doubled = a + b;
    this.next(this.join);
  }

  @step async join(inputs: Inputs<AsyncStepsFlow>) {
    await delay(10, null);
    this.collected = inputs.map((i) => i.doubled);
    this.next(this.end);
  }

  @step async end() {
    this.finalNote = await delay(10, `sum=${this.collected.reduce((s, v) => s + v, 0)}`);
  }
}
