import { FlowSpec, step, param } from 'flowrun';

/** The smallest flow: two steps and a parameter. */
export default class HelloFlow extends FlowSpec {
  @param({ help: 'who to greet' }) who = 'world';

  greeting!: string;

  @step start() {
    this.greeting = `hello, ${this.who}`;
    this.next(this.end);
  }

  @step end() {
    console.log(this.greeting);
  }
}
