import { Args } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import type { InspectView } from '../src/cli/inspect-view.js';

export default class Inspect extends BaseCommand {
  static override summary = 'Show a run: status, params, seed, steps and tasks, artifacts (name, hash, size).';
  static override examples = ['<%= config.bin %> inspect run-4', '<%= config.bin %> inspect run-4 --json'];
  static override enableJsonFlag = true;
  static override args = { run: Args.string({ description: 'run id', required: true }) };

  async run(): Promise<InspectView> {
    const { args } = await this.parse(Inspect);
    const { Run } = await import('../src/client/client.js');
    const { openStore } = await import('../src/client/client.js');
    const { inspectRun, renderInspect } = await import('../src/cli/inspect-view.js');
    const view = await inspectRun(await Run.open(openStore(), args.run));
    this.log(renderInspect(view));
    return view;
  }
}
