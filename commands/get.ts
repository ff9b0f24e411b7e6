import { Args } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';

export default class Get extends BaseCommand {
  static override summary = 'Print an artifact\'s value (JSON where possible).';
  static override description = 'Without a step, the value is read from the end step, or else from the last step that set it. Values are verified against their hash as they are read.';
  static override examples = ['<%= config.bin %> get run-4 best', '<%= config.bin %> get run-4/fit/3 score --json'];
  static override enableJsonFlag = true;
  static override args = {
    path: Args.string({ description: 'RUN, RUN/STEP or RUN/STEP/TASK', required: true }),
    name: Args.string({ description: 'artifact name', required: true }),
  };

  async run(): Promise<unknown> {
    const { args } = await this.parse(Get);
    const { Run } = await import('../src/client/client.js');
    const { openStore } = await import('../src/client/client.js');
    const { parsePathspec, renderValue } = await import('../src/cli/views.js');
    const { toJsonValue } = await import('../src/serialize/json-view.js');
    const p = parsePathspec(args.path);
    const run = await Run.open(openStore(), p.run);
    let task;
    if (!p.step) task = await run.artifactTask(args.name);
    else if (p.task) task = run.step(p.step).task(p.task);
    else {
      const tasks = await run.step(p.step).tasks();
      task = tasks.find((t) => Object.hasOwn(t.record.artifacts, args.name)) ?? tasks[0];
      if (!task) return this.error(`Step ${p.step} of ${p.run} has no tasks.`);
    }
    const value = await task.artifact(args.name);
    if (!this.jsonEnabled()) this.log(renderValue(value));
    const ref = task.record.artifacts[args.name]!;
    return { schema: 'flowrun.get/1', run: p.run, step: task.step, task: task.id, name: args.name, hash: ref.hash, size: ref.size, value: toJsonValue(value) };
  }
}
