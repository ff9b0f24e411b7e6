import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FlowSpec, param, step } from 'flowrun';

/** A required parameter; end fails while the file fail-marker exists in the project dir. */
export default class ResumeRequiredFlow extends FlowSpec {
  @param({ help: 'dataset label', required: true, type: 'string' }) label!: string;
  greeting!: string;

  @step start() {
    this.greeting = `hello ${this.label}`;
    this.next(this.end);
  }

  @step end() {
    if (existsSync(join(process.cwd(), 'fail-marker'))) throw new Error('fail-marker is present');
  }
}
