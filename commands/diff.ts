import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import type { RunDiff } from '../src/diff/diff.js';

export default class Diff extends BaseCommand {
  static override summary = 'Show what differs between two runs: code, params, environment, per-step artifacts, status.';
  static override examples = ['<%= config.bin %> diff run-41 run-42', '<%= config.bin %> diff run-41 run-42 --code', '<%= config.bin %> diff run-41 run-42 --exit-code --json'];
  static override enableJsonFlag = true;
  static override args = {
    a: Args.string({ description: 'first run', required: true }),
    b: Args.string({ description: 'second run', required: true }),
  };
  static override flags = {
    code: Flags.boolean({ description: 'include a unified diff of the changed files' }),
    'exit-code': Flags.boolean({ description: 'exit 1 when the runs differ (like git diff --exit-code)' }),
  };

  async run(): Promise<RunDiff> {
    const { args, flags } = await this.parse(Diff);
    const { compareRuns } = await import('../src/diff/compare.js');
    const { openStore } = await import('../src/client/client.js');
    const { renderDiff } = await import('../src/diff/render.js');
    const diff = await compareRuns(openStore(), args.a, args.b, { code: flags.code });
    this.log(renderDiff(diff, { color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR }));
    const { ExitCode } = await import('../src/errors/index.js');
    if (flags['exit-code'] && diff.differs.length > 0) process.exitCode = ExitCode.differs;
    return diff;
  }
}
