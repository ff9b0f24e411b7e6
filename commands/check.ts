import { Args } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';

interface CheckResult {
  schema: 'flowrun.check/1';
  ok: true;
  flow: string;
  file: string;
  steps: number;
  params: number;
}

export default class Check extends BaseCommand {
  static override summary = 'Validate a flow without running it: graph rules, decorators, params, syntax and imports.';
  static override description = 'Exit 0 when the flow is valid; exit 2 with every problem listed otherwise.';
  static override examples = ['<%= config.bin %> check flows/train.ts'];
  static override enableJsonFlag = true;
  static override args = { file: Args.string({ description: 'flow file (.ts or .js)', required: true }) };

  async run(): Promise<CheckResult> {
    const { args } = await this.parse(Check);
    const { loadFlowGraph } = await import('../src/cli/load.js');
    const { compileFlow } = await import('../src/loader/compile.js');
    const { npmPackageNames } = await import('../src/env/npm-names.js');
    const { config, analysis, graph } = await loadFlowGraph(args.file);
    await compileFlow(analysis.path, config.projectRoot, npmPackageNames(graph));
    this.log(`ok: ${graph.flow} (${analysis.displayPath}): ${graph.steps.length} steps, ${graph.params.length} parameters, no problems found`);
    return { schema: 'flowrun.check/1', ok: true, flow: graph.flow, file: analysis.displayPath, steps: graph.steps.length, params: graph.params.length };
  }
}
