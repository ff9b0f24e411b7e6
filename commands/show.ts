import { Args } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import type { GraphView } from '../src/cli/graph-view.js';

export default class Show extends BaseCommand {
  static override summary = "Show a flow's graph: steps in order, transitions, decorators, parameters and docs.";
  static override description = 'Reads the flow file statically (no user code runs) and validates it; any structural problem is an error (exit 2).';
  static override examples = ['<%= config.bin %> show flows/train.ts', '<%= config.bin %> show flows/train.ts --json'];
  static override enableJsonFlag = true;
  static override args = { file: Args.string({ description: 'flow file (.ts or .js)', required: true }) };

  async run(): Promise<GraphView> {
    const { args } = await this.parse(Show);
    const { loadFlowGraph } = await import('../src/cli/load.js');
    const { graphView, renderGraph } = await import('../src/cli/graph-view.js');
    const view = graphView((await loadFlowGraph(args.file)).graph);
    this.log(renderGraph(view));
    return view;
  }
}
