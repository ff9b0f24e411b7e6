import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';

export default class Logs extends BaseCommand {
  static override summary = 'Print the stdout and stderr a task wrote (every task of the step when no task is given).';
  static override examples = ['<%= config.bin %> logs run-4/fit/3', '<%= config.bin %> logs run-4/start --stderr', '<%= config.bin %> logs run-4/fit/3 --attempt 0', '<%= config.bin %> logs run-4/train/0 --follow'];
  static override enableJsonFlag = true;
  static override args = { path: Args.string({ description: 'RUN/STEP or RUN/STEP/TASK', required: true }) };
  static override flags = {
    stdout: Flags.boolean({ description: 'only stdout', exclusive: ['stderr'] }),
    stderr: Flags.boolean({ description: 'only stderr' }),
    attempt: Flags.integer({ description: 'which attempt (numbered from 0, as in flow inspect --json); default the last', min: 0 }),
    follow: Flags.boolean({ char: 'f', description: 'a running Batch task: print its output as it uploads it, until the task ends' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Logs);
    const { Run } = await import('../src/client/client.js');
    const { openStore } = await import('../src/client/client.js');
    const { parsePathspec } = await import('../src/cli/views.js');
    const p = parsePathspec(args.path, 'step');
    if (flags.follow) {
      const { followLogsCommand } = await import('../src/cli/follow-logs.js');
      await followLogsCommand(p, { stdout: !flags.stderr, stderr: !flags.stdout });
      return { schema: 'flowrun.logs/1', tasks: [] };
    }
    const step = (await Run.open(openStore(), p.run)).step(p.step!);
    const tasks = p.task ? [step.task(p.task)] : await step.tasks();
    const out = [];
    const { crashedLogsOf } = await import('../src/batch/task-logs.js');
    for (const t of tasks) {
      const logs = await crashedLogsOf(t.record, await t.logs(flags.attempt), flags.attempt);
      out.push({ task: t.pathspec, ...logs });
      if (tasks.length > 1) this.log(`=== ${t.pathspec} ===`);
      if (!flags.stderr && logs.stdout) process.stdout.write(this.jsonEnabled() ? '' : logs.stdout.endsWith('\n') ? logs.stdout : `${logs.stdout}\n`);
      if (!flags.stdout && logs.stderr && !this.jsonEnabled()) process.stderr.write(logs.stderr.endsWith('\n') ? logs.stderr : `${logs.stderr}\n`);
    }
    return { schema: 'flowrun.logs/1', tasks: out };
  }
}
