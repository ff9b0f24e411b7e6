import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';

export default class Logs extends BaseCommand {
  static override summary = "Print the stdout and stderr tasks wrote: one task's as written, or every task's of a step or run with each line prefixed [RUN/STEP/TASK].";
  static override examples = ['<%= config.bin %> logs run-4/fit/3', '<%= config.bin %> logs run-4', '<%= config.bin %> logs run-4/fit --stderr', '<%= config.bin %> logs run-4/fit/3 --attempt 0', '<%= config.bin %> logs run-4/train/0 --follow'];
  static override enableJsonFlag = true;
  static override args = { path: Args.string({ description: 'RUN, RUN/STEP or RUN/STEP/TASK', required: true }) };
  static override flags = {
    stdout: Flags.boolean({ description: 'only stdout', exclusive: ['stderr'] }),
    stderr: Flags.boolean({ description: 'only stderr' }),
    attempt: Flags.integer({ description: "which attempt (numbered from 0, as in flow inspect); default each task's last", min: 0 }),
    follow: Flags.boolean({ char: 'f', description: 'a running Batch task: print its output as it uploads it, until the task ends' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Logs);
    const { parsePathspec } = await import('../src/cli/views.js');
    const p = parsePathspec(args.path);
    if (flags.follow) {
      const { followLogsCommand } = await import('../src/cli/follow-logs.js');
      await followLogsCommand(p, { stdout: !flags.stderr, stderr: !flags.stdout });
      return { schema: 'flowrun.logs/1', tasks: [] };
    }
    const { printLogs } = await import('../src/cli/logs-command.js');
    return printLogs(p, {
      attempt: flags.attempt,
      stdout: !flags.stderr,
      stderr: !flags.stdout,
      json: this.jsonEnabled(),
      write: (stream, text) => (stream === 'stdout' ? process.stdout : process.stderr).write(text),
    });
  }
}
