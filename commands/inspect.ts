import { Args } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';

export default class Inspect extends BaseCommand {
  static override summary = 'Show a run, a step or a task: status, params, seed, tasks, attempts, artifacts (name, hash, size, where each was set).';
  static override description = "RUN: the run with each artifact in the step that set it. RUN/STEP: the step's tasks (status, attempts, artifacts each set). RUN/STEP/TASK: one task: attempts with their seeds and errors, every artifact with the task it comes from.";
  static override examples = ['<%= config.bin %> inspect run-4', '<%= config.bin %> inspect run-4/fit', '<%= config.bin %> inspect run-4/fit/3 --json'];
  static override enableJsonFlag = true;
  static override args = { path: Args.string({ description: 'RUN, RUN/STEP or RUN/STEP/TASK', required: true }) };

  async run(): Promise<unknown> {
    const { args } = await this.parse(Inspect);
    const { Run, openStore } = await import('../src/client/client.js');
    const { parsePathspec } = await import('../src/cli/views.js');
    const p = parsePathspec(args.path);
    const run = await Run.open(openStore(), p.run);
    if (p.step === undefined) {
      const { inspectRun, renderInspect } = await import('../src/cli/inspect-view.js');
      const view = await inspectRun(run);
      this.log(renderInspect(view));
      return view;
    }
    const views = await import('../src/cli/inspect-task-view.js');
    if (p.task === undefined) {
      const view = await views.inspectStep(run, p.step);
      this.log(views.renderStep(view));
      return view;
    }
    const view = views.inspectTask(run, run.step(p.step).task(p.task));
    this.log(views.renderTask(view));
    return view;
  }
}
