import { Args } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import type { InitResult } from '../src/cli/init-project.js';

export default class Init extends BaseCommand {
  static override summary = 'Make a folder a flowrun project: flows, package.json scripts and dependencies, tsconfig, .gitignore, git.';
  static override description = 'Works in a new folder and in an existing project: nothing is overwritten (files that exist are kept, package.json only gains the scripts and dependencies it lacks). A folder outside any git repository gets git init.';
  static override examples = ['<%= config.bin %> init my-project', '<%= config.bin %> init'];
  static override enableJsonFlag = true;
  static override args = { dir: Args.string({ description: 'project directory (default: the current one)', default: '.', ignoreStdin: true }) };

  async run(): Promise<InitResult> {
    const { args } = await this.parse(Init);
    const { initProject } = await import('../src/cli/init-project.js');
    const r = initProject(args.dir);
    this.log(`flowrun project in ${r.dir}:`);
    if (r.created.length) this.log(`  created   ${r.created.join(', ')}`);
    if (r.updated.length) this.log(`  added to  ${r.updated.join(', ')}`);
    if (r.kept.length) this.log(`  kept      ${r.kept.join(', ')} (already there)`);
    if (r.git === 'initialized') this.log('  git init  a new repository: commit your files to tie runs to a commit');
    if (r.git === 'unavailable') this.log('  git       not found: runs are recorded without a commit until the project is a git repository');
    const from = r.flowrun.startsWith('file:') ? ` (flowrun from ${r.flowrun}: it is not on the npm registry yet)` : '';
    this.log(`\nNext:\n${args.dir === '.' ? '' : `  cd ${args.dir}\n`}  npm install${from}\n  npx flow run flows/hello.ts\n  npx flow show flows/train.ts`);
    return r;
  }
}
