import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import { MAX_WORKERS } from '../src/config/schema.js';
import type { RunRecord } from '../src/metadata/records.js';

export default class Resume extends BaseCommand {
  static override summary = "Continue a failed or interrupted run: a new run that reuses the origin's successful tasks and reruns the rest.";
  static override description =
    "Without --origin, resumes your latest failed or interrupted run of the flow that no run has resumed yet (replays are never resumed). Reused tasks are cloned by reference (no objects are copied); it says how many before it starts, and warns when the code changed since the origin. Parameters and seed are the origin's. With --step, that step and everything after it rerun.";
  static override examples = ['<%= config.bin %> resume flows/train.ts', '<%= config.bin %> resume flows/train.ts --origin run-4 --step fit'];
  static override enableJsonFlag = true;
  static override args = { file: Args.string({ description: 'flow file', required: true }) };
  static override flags = {
    origin: Flags.string({ description: 'run to resume (default: your latest failed or interrupted run of the flow that no run has resumed yet)' }),
    step: Flags.string({ description: 'rerun from this step (default: reuse every successful task)' }),
    'max-workers': Flags.integer({ description: 'tasks run at once', min: 1, max: MAX_WORKERS }),
    'max-num-splits': Flags.integer({ description: 'largest foreach fan-out allowed', default: 10_000, min: 1 }),
    tag: Flags.string({ description: 'tag the run (repeatable)', multiple: true }),
    quiet: Flags.boolean({ char: 'q', description: 'print only the run id (and, on stderr, why a run failed)' }),
    environment: Flags.string({ description: 'conda: honour @conda/@condaBase, as for flow run', options: ['conda'] }),
    user: Flags.string({ description: 'record the run as started by this user (default: FLOW_USER, else your OS account)' }),
  };

  async run(): Promise<RunRecord> {
    await (await import('../src/cli/resume-params.js')).refuseResumeParams(this.argv, Resume.flags);
    const { args, flags } = await this.parse(Resume);
    const { startRun } = await import('../src/cli/run-command.js');
    const outcome = await startRun({
      file: args.file,
      paramArgv: [],
      flags: { ...flags, seed: undefined },
      json: this.jsonEnabled(),
      log: (l) => this.log(l),
      resume: { origin: flags.origin, step: flags.step },
    });
    process.exitCode = outcome.exitCode;
    return outcome.record;
  }
}
