import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';

export default class Card extends BaseCommand {
  static override summary = "Export a task's card as one self-contained HTML file (no script, no network).";
  static override examples = ['<%= config.bin %> card run-4/report --out report.html', '<%= config.bin %> card run-4/fit/3 > fit-3.html'];
  static override args = { path: Args.string({ description: 'RUN/STEP[/TASK] (the task may be left out when one task of the step has a card)', required: true }) };
  static override flags = {
    out: Flags.string({ char: 'o', description: 'write the HTML to this file (default: stdout)' }),
    id: Flags.string({ description: "the card's id, when the task has several" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Card);
    const { exportCard } = await import('../src/cli/card-command.js');
    const r = await exportCard(args.path, flags.out, flags.id);
    if (r.out) process.stderr.write(`Wrote the card of ${r.task} to ${r.out} (${r.html.length} bytes)\n`);
    else process.stdout.write(r.html);
  }
}
