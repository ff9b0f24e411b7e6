import { Args } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';

export default class Env extends BaseCommand {
  static override summary = "Print a step's locked environment: lock hash, spec and every package with its version.";
  static override examples = ['<%= config.bin %> env run-4/fit', '<%= config.bin %> env run-4/fit --json'];
  static override enableJsonFlag = true;
  static override args = { path: Args.string({ description: 'RUN/STEP', required: true }) };

  async run(): Promise<unknown> {
    const { args } = await this.parse(Env);
    const { Run, openStore } = await import('../src/client/client.js');
    const { parsePathspec } = await import('../src/cli/views.js');
    const { renderEnv, stepEnvView } = await import('../src/cli/env-view.js');
    const p = parsePathspec(args.path, 'step');
    const view = stepEnvView(await Run.open(openStore(), p.run), p.step!);
    if (!this.jsonEnabled()) this.log(renderEnv(view));
    return view;
  }
}
