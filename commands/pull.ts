import { Args } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';

export default class Pull extends BaseCommand {
  static override summary = 'Download runs from the S3 mirror into the local store (default: every run there).';
  static override description = 'Every object is verified against its sha256 before it enters the local store; the run record is written last.';
  static override examples = ['<%= config.bin %> pull', '<%= config.bin %> pull run-7'];
  static override enableJsonFlag = true;
  static override strict = false;
  // ignoreStdin: oclif would otherwise read the run ids from a stdin that is not a terminal (a script's pipe).
  static override args = { runs: Args.string({ description: 'run ids (default: all)', ignoreStdin: true }) };

  async run(): Promise<unknown> {
    const { argv } = await this.parse(Pull);
    const { loadConfig } = await import('../src/config/config.js');
    const { openProjectStore } = await import('../src/client/client.js');
    const { requireMirror, pullRuns } = await import('../src/mirror/sync.js');
    const { formatBytes } = await import('../src/util/bytes.js');
    const { transferProgress } = await import('../src/cli/progress.js');
    const config = loadConfig(process.cwd());
    const remote = await requireMirror(config, 'pull');
    const bar = transferProgress('pulling', !this.jsonEnabled() && process.stderr.isTTY === true);
    const results = await pullRuns(remote, openProjectStore(config), argv as string[], bar.update).finally(bar.done);
    for (const r of results) this.log(r.status === 'pulled' ? `${r.run}: pulled ${r.objects} objects (${formatBytes(r.bytes)})${r.tags ? `, ${r.tags} tag change(s)` : ''}` : `${r.run}: up to date`);
    this.log(`${remote.location}: ${results.filter((r) => r.status === 'pulled').length} run(s) pulled`);
    return { schema: 'flowrun.pull/1', mirror: remote.location, runs: results };
  }
}
