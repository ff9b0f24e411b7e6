import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import { MAX_WORKERS } from '../src/config/schema.js';
import type { RunRecord } from '../src/metadata/records.js';

export default class Run extends BaseCommand {
  static override summary = 'Run a flow locally: steps in parallel, artifacts content-addressed in the store.';
  static override description = 'Flow parameters are given as --NAME VALUE (see flow show FILE). Prints the run id at start and a summary at the end. Exit 0 on success, 1 when a task failed, 130 when interrupted.';
  static override examples = ['<%= config.bin %> run flows/train.ts', '<%= config.bin %> run flows/train.ts --alpha 0.1 --folds 8 --max-workers 4 --tag nightly', '<%= config.bin %> run flows/train.ts --with batch:queue=gpu-queue,memory=16384'];
  static override enableJsonFlag = true;
  static override args = { file: Args.string({ description: 'flow file (.ts or .js)', required: true }) };
  static override flags = {
    'max-workers': Flags.integer({ description: 'tasks run at once (default: .flowrc maxWorkers, else the number of cores)', min: 1, max: MAX_WORKERS }),
    'max-num-splits': Flags.integer({ description: 'largest foreach fan-out allowed', default: 10_000, min: 1 }),
    tag: Flags.string({ description: 'tag the run (repeatable)', multiple: true }),
    seed: Flags.integer({ description: 'seed of Math.random in tasks (default: random, recorded)' }),
    quiet: Flags.boolean({ char: 'q', description: 'print only the run id (and, on stderr, why a run failed)' }),
    'refresh-envs': Flags.boolean({ description: 'resolve every @npm/@conda spec again instead of reusing the lock this machine resolved before' }),
    environment: Flags.string({ description: 'conda: honour @conda/@condaBase (solve, lock and install conda environments)', options: ['conda'] }),
    with: Flags.string({ description: 'attach a step decorator to every step, e.g. --with batch:queue=q,memory=8192 or --with retry:times=2 (repeatable)', multiple: true }),
    user: Flags.string({ description: 'record the run as started by this user (default: FLOW_USER, else your OS account)' }),
    cache: Flags.boolean({ description: 'step cache: --cache reuses earlier tasks for every step (not only @cache() ones); --no-cache runs every task (no lookups, nothing filed)', allowNo: true }),
  };

  async run(): Promise<RunRecord> {
    const { startRun, paramArgs } = await import('../src/cli/run-command.js');
    const split = paramArgs(this.argv, Run.flags);
    const { args, flags } = await this.parse(Run, split.rest);
    const outcome = await startRun({
      file: args.file,
      paramArgv: split.params,
      flags,
      json: this.jsonEnabled(),
      log: (l) => this.log(l),
    });
    process.exitCode = outcome.exitCode;
    return outcome.record;
  }
}
