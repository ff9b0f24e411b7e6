import { FlowSpec, step, param } from 'flowrun';

/** Parameters of every kind, echoed back as an artifact with their runtime types. */
export default class ParamTypesFlow extends FlowSpec {
  @param({ help: 'a number' }) count = 1;
  @param({ help: 'a string' }) label = 'default';
  @param({ help: 'a boolean' }) verbose = false;
  @param({ help: 'a JSON array' }) layers = [8, 4];

  echo!: Record<string, unknown>;

  @step start() {
    this.echo = {
      count: this.count, countType: typeof this.count,
      label: this.label, labelType: typeof this.label,
      verbose: this.verbose, verboseType: typeof this.verbose,
      layers: this.layers, layersIsArray: Array.isArray(this.layers),
    };
    this.next(this.end);
  }

  @step end() {}
}
