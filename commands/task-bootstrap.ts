import { BaseCommand } from '../src/cli/base.js';

export default class TaskBootstrap extends BaseCommand {
  static override hidden = true;
  static override summary = 'Internal: run one task inside an AWS Batch job (the job\'s command).';
  static override description = 'Reads FLOW_STORE_URL, FLOW_TASK_PAYLOAD and AWS_BATCH_JOB_ARRAY_INDEX from the environment; see "Running on AWS Batch" in the README.';

  async run(): Promise<void> {
    const { taskBootstrap } = await import('../src/batch/bootstrap.js');
    process.exitCode = await taskBootstrap();
  }
}
