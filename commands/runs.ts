import { Args } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';

export default class Runs extends BaseCommand {
  static override summary = 'List runs: id, flow, status, start, duration, git commit, dirty flag, tags.';
  static override examples = ['<%= config.bin %> runs', '<%= config.bin %> runs TrainFlow --json'];
  static override enableJsonFlag = true;
  static override args = { flow: Args.string({ description: 'only runs of this flow' }) };

  async run(): Promise<unknown> {
    const { args } = await this.parse(Runs);
    const { listRuns } = await import('../src/client/client.js');
    const { openStore } = await import('../src/client/client.js');
    const { renderRuns } = await import('../src/cli/views.js');
    const runs = (await listRuns(openStore())).filter((r) => !args.flow || r.flow === args.flow);
    this.log(renderRuns(runs));
    return { schema: 'flowrun.runs/1', runs };
  }
}
