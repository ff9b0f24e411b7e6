import { Args } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';

export default class Tag extends BaseCommand {
  static override summary = "Add, remove or list a run's tags after the fact.";
  static override description = "A run record never changes once the run ended: tag changes go into the run's append-only tag log, merged whenever the run is read (flow runs --tag, the client, flow inspect) and pushed and pulled with the mirror. flow tag list without a run lists every tag in the store.";
  static override examples = ['<%= config.bin %> tag add run-4 baseline paper-v2', '<%= config.bin %> tag remove run-4 paper-v2', '<%= config.bin %> tag list run-4', '<%= config.bin %> tag list'];
  static override usage = ['<%= command.id %> add RUN TAG...', '<%= command.id %> remove RUN TAG...', '<%= command.id %> list [RUN]'];
  static override enableJsonFlag = true;
  // Variadic tags after the run: oclif passes them in argv.
  static override strict = false;
  static override args = {
    action: Args.string({ description: 'add, remove or list', required: true, options: ['add', 'remove', 'list'] }),
    run: Args.string({ description: 'run id' }),
    tags: Args.string({ description: 'tags (add, remove)' }),
  };

  async run(): Promise<unknown> {
    const { args, argv } = await this.parse(Tag);
    const { tagCommand } = await import('../src/cli/tag-command.js');
    const tags = (argv as string[]).slice(2);
    const out = await tagCommand(args.action as 'add' | 'remove' | 'list', args.run, tags, (l) => process.stderr.write(`${l}\n`));
    for (const line of out.lines) this.log(line);
    const { lines: _lines, ...json } = out;
    return json;
  }
}
