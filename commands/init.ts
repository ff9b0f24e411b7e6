import { Args } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import type { InitResult } from '../src/cli/init-project.js';

export default class Init extends BaseCommand {
  static override summary = 'Scaffold a flowrun project: package.json, tsconfig, a hello flow and a train flow.';
  static override examples = ['<%= config.bin %> init my-project', '<%= config.bin %> init'];
  static override enableJsonFlag = true;
  static override args = { dir: Args.string({ description: 'directory to create (default: the current one)', default: '.', ignoreStdin: true }) };

  async run(): Promise<InitResult> {
    const { args } = await this.parse(Init);
    const { initProject } = await import('../src/cli/init-project.js');
    const result = initProject(args.dir);
    this.log(`Created a flowrun project in ${result.dir}:`);
    for (const f of result.files) this.log(`  ${f}`);
    this.log(`\nNext:\n  cd ${args.dir}\n  npm install\n  npx flow show flows/train.ts`);
    return result;
  }
}
