import { FlowSpec, step } from 'flowrun';
import { double } from './helpr.js';

export default class BadImportFlow extends FlowSpec {
  x!: number;
  @step start() { this.x = double(2); this.next(this.end); }
  @step end() {}
}
