import { FlowSpec, step, param, includeFile } from 'flowrun';

export default class TypedParamsFlow extends FlowSpec {
  @param({ help: 'learning rate' }) alpha = 0.01;
  @param({ help: 'model name' }) modelName = 'ridge';
  @param({ help: 'shuffle rows' }) shuffle = false;
  @param({ help: 'hyperparameter grid' }) grid = [1, 2];
  @param({ help: 'required seed label', required: true, type: 'string' }) label!: string;
  @includeFile({ help: 'training rows' }) data = 'data.csv';
  @step start() { this.next(this.end); }
  @step end() {}
}
