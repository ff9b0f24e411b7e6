import { FlowSpec, step, batch, resources } from 'flowrun';

/** Only `heavy` runs on Batch; the rest runs locally. */
export default class BatchMixedFlow extends FlowSpec {
  base!: number;
  where!: string;
  result!: number;

  @step start() {
    this.base = 20;
    this.next(this.heavy);
  }

  @resources({ memory: 2048 })
  @batch({ cpu: 2 })
  @step heavy() {
    this.where = process.env.AWS_BATCH_JOB_ID ? 'batch' : 'local';
    this.result = this.base * 2 + 2;
    this.next(this.end);
  }

  @step end() {}
}
