import { FlowSpec, step, environment } from 'flowrun';

/** GREETING is set only while withEnv runs. */
export default class EnvVarsFlow extends FlowSpec {
  atStart!: string | null;
  inside!: string | null;
  afterwards!: string | null;

  @step start() {
    this.atStart = process.env.GREETING ?? null;
    this.next(this.withEnv);
  }

  @environment({ vars: { GREETING: 'hi' } })
  @step withEnv() {
    this.inside = process.env.GREETING ?? null;
    this.next(this.without);
  }

  @step without() {
    this.afterwards = process.env.GREETING ?? null;
    this.next(this.end);
  }

  @step end() {}
}
