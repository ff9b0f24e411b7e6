import { FlowSpec, step, param } from 'flowrun';

// Metaflow's Parameter('alpha', default=0.1) and argparse's type=float, written as @param options.
export default class ParamOptionsFlow extends FlowSpec {
  @param({ help: 'learning rate', default: 0.1 }) alpha = 0.1;
  @param({ help: 'epochs', type: 'float' }) epochs = 3;
  @step start() { this.next(this.end); }
  @step end() {}
}
