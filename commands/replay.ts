import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import { MAX_WORKERS } from '../src/config/schema.js';

export default class Replay extends BaseCommand {
  static override summary = 'Repeat a run from its code package, params and seed, and verify every artifact hash (exit 0 only when all match).';
  static override description = "The run's code package is extracted to a temporary directory; the working tree is never read. With --PARAM overrides it is a what-if: it runs with the new values and prints the diff against RUN.";
  static override examples = ['<%= config.bin %> replay run-41', '<%= config.bin %> replay run-41 --alpha 0.1', '<%= config.bin %> replay run-41 --with batch'];
  static override enableJsonFlag = true;
  static override args = { run: Args.string({ description: 'run to replay', required: true }) };
  static override flags = {
    'max-workers': Flags.integer({ description: 'tasks run at once', min: 1, max: MAX_WORKERS }),
    quiet: Flags.boolean({ char: 'q', description: 'print only the run id and the verdict' }),
    verbose: Flags.boolean({ char: 'v', description: 'list every artifact checked, not only those that did not reproduce' }),
    with: Flags.string({ description: 'attach a step decorator to every step (e.g. --with batch to replay on AWS Batch)', multiple: true }),
    tag: Flags.string({ description: "tag the replay (repeatable; the original's tags are not copied)", multiple: true }),
    user: Flags.string({ description: 'record the replay as started by this user (default: FLOW_USER, else your OS account)' }),
  };

  async run(): Promise<unknown> {
    const { paramArgs } = await import('../src/cli/run-command.js');
    const split = paramArgs(this.argv, Replay.flags);
    const { args, flags } = await this.parse(Replay, split.rest);
    const { startReplay } = await import('../src/cli/replay-command.js');
    const out = await startReplay({ run: args.run, paramArgv: split.params, maxWorkers: flags['max-workers'], with: flags.with, tags: flags.tag, user: flags.user, quiet: flags.quiet, verbose: flags.verbose, json: this.jsonEnabled(), log: (l) => this.log(l) });
    process.exitCode = out.exitCode;
    return out.json;
  }
}
