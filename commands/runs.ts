import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';

export default class Runs extends BaseCommand {
  static override summary = 'List runs: id, flow, status, start, duration, git commit, dirty flag, tags.';
  static override examples = ['<%= config.bin %> runs', '<%= config.bin %> runs TrainFlow --json'];
  static override enableJsonFlag = true;
  // ignoreStdin: oclif would otherwise wait up to 10 ms for the argument on a stdin that is not a terminal.
  static override args = { flow: Args.string({ description: 'only runs of this flow', ignoreStdin: true }) };
  static override flags = { remote: Flags.boolean({ description: 'list the runs on the S3 mirror instead of the local store' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Runs);
    const { listRuns } = await import('../src/client/list-runs.js');
    const { openStore } = await import('../src/client/open-store.js');
    let all;
    if (flags.remote) {
      const { loadConfig } = await import('../src/config/config.js');
      const { requireMirror, listRemoteRuns } = await import('../src/mirror/sync.js');
      all = await listRemoteRuns(await requireMirror(loadConfig(process.cwd()), 'runs --remote'));
    } else {
      all = await listRuns(openStore());
    }
    const runs = all.filter((r) => !args.flow || r.flow === args.flow);
    if (!this.jsonEnabled()) this.log((await import('../src/cli/views.js')).renderRuns(runs));
    return { schema: 'flowrun.runs/1', runs };
  }
}
