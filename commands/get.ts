import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';

export default class Get extends BaseCommand {
  static override summary = "Print an artifact's value (JSON where possible).";
  static override description =
    'Without a step, the value is read from the end step, or else from the last step that has it. When that step (or the STEP given) has several tasks holding different values (a foreach), name the task (RUN/STEP/TASK) or print them all with --all. Values are verified against their hash as they are read.';
  static override examples = ['<%= config.bin %> get run-4 best', '<%= config.bin %> get run-4/fit/3 score --json', '<%= config.bin %> get run-4/fit score --all'];
  static override enableJsonFlag = true;
  static override args = {
    path: Args.string({ description: 'RUN, RUN/STEP or RUN/STEP/TASK', required: true }),
    name: Args.string({ description: 'artifact name', required: true }),
  };
  static override flags = {
    all: Flags.boolean({ description: "every task's value, when several tasks of the step hold the artifact" }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Get);
    const { getArtifact } = await import('../src/cli/get-command.js');
    const out = await getArtifact(args.path, args.name, flags.all);
    if (!this.jsonEnabled()) for (const line of out.lines) this.log(line);
    return out.json;
  }
}
