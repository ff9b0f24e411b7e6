import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import type { SpinRecord } from '../src/metadata/spin-records.js';

export default class Spin extends BaseCommand {
  static override summary = 'Rerun one task of a past run with the current code, on its recorded inputs, and show what changed.';
  static override description =
    "The task gets what it got in the run: its parents' artifacts (its foreach item, a join's inputs), the params, included files and seed. The run is not changed; the spin is kept apart (spins/ in the store, never listed as a run). With --inspect-brk the task starts under the Node inspector and waits for a debugger, then stops just before the step.";
  static override examples = ['<%= config.bin %> spin run-4/fit/3', '<%= config.bin %> spin run-4/start', '<%= config.bin %> spin run-4/fit/3 --inspect-brk', '<%= config.bin %> spin run-4/fit/3 --inspect-brk=9230 --json'];
  static override enableJsonFlag = true;
  static override args = { task: Args.string({ description: 'the task to rerun: RUN/STEP/TASK (or RUN/STEP for a step with one task)', required: true }) };
  static override flags = {
    'inspect-brk': Flags.string({ description: 'start the task under the Node inspector ([host:]port, default 127.0.0.1:9229) and wait for a debugger' }),
    quiet: Flags.boolean({ char: 'q', description: 'print only the spin id (and a failure)' }),
  };

  async run(): Promise<SpinRecord> {
    const { normalizeInspectArgv, startSpin } = await import('../src/cli/spin-command.js');
    const { args, flags } = await this.parse(Spin, normalizeInspectArgv(this.argv));
    const out = await startSpin({ target: args.task, inspect: flags['inspect-brk'], quiet: flags.quiet, json: this.jsonEnabled(), log: (l) => this.log(l) });
    process.exitCode = out.exitCode;
    return out.record;
  }
}
