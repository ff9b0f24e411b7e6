import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';

export default class Code extends BaseCommand {
  static override summary = "A run's code package: list its files, or write them out to a directory.";
  static override examples = ['<%= config.bin %> code run-4', '<%= config.bin %> code run-4 --extract /tmp/run-4-code'];
  static override enableJsonFlag = true;
  static override args = { run: Args.string({ description: 'run id', required: true }) };
  static override flags = { extract: Flags.string({ description: 'write the files into this (new or empty) directory' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Code);
    const { runCodePackage } = await import('../src/cli/code-command.js');
    const { openStore } = await import('../src/client/client.js');
    const out = await runCodePackage(openStore(), args.run, flags.extract);
    for (const line of out.lines) this.log(line);
    return out.json;
  }
}
