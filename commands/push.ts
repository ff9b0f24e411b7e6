import { Args } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';

export default class Push extends BaseCommand {
  static override summary = 'Upload runs to the S3 mirror (default: every local run); only what the mirror lacks is sent.';
  static override description = "Objects go first (small ones packed together), then the run's records, the run record last: a run is visible on the mirror only once it is complete there. An interrupted push is finished by the next one.";
  static override examples = ['<%= config.bin %> push', '<%= config.bin %> push run-4 run-5 --json'];
  static override enableJsonFlag = true;
  static override strict = false;
  // ignoreStdin: oclif would otherwise read the run ids from a stdin that is not a terminal (a script's pipe).
  static override args = { runs: Args.string({ description: 'run ids (default: all)', ignoreStdin: true }) };

  async run(): Promise<unknown> {
    const { argv } = await this.parse(Push);
    const { loadConfig } = await import('../src/config/config.js');
    const { openProjectStore } = await import('../src/client/client.js');
    const { requireMirror, pushRuns } = await import('../src/mirror/sync.js');
    const { formatBytes } = await import('../src/util/bytes.js');
    const { transferProgress } = await import('../src/cli/progress.js');
    const config = loadConfig(process.cwd());
    const remote = await requireMirror(config, 'push');
    const bar = transferProgress('pushing', !this.jsonEnabled() && process.stderr.isTTY === true);
    const local = openProjectStore(config);
    const results = await pushRuns(local, remote, argv as string[], bar.update).finally(bar.done);
    // Step cache entries go after their runs (whose objects they name); a bundle already there is left alone.
    const { pushCacheEntries } = await import('../src/cache/remote.js');
    for (const r of results) {
      const bundles = r.status === 'skipped' ? 0 : await pushCacheEntries(local, remote, r.run);
      const cache = bundles ? `; step cache entries of ${bundles} step(s)` : '';
      this.log(r.status === 'pushed' ? `${r.run}: pushed ${r.objects} objects (${formatBytes(r.bytes)}, ${r.packs} packs)${r.tags ? `, ${r.tags} tag change(s)` : ''}${cache}` : `${r.run}: ${r.status}${r.reason ? ` (${r.reason})` : ''}${cache}`);
    }
    const pushed = results.filter((r) => r.status === 'pushed');
    this.log(`${remote.location}: ${pushed.length} run(s) pushed, ${results.length - pushed.length} already there or skipped; ${pushed.reduce((a, r) => a + r.objects, 0)} objects, ${formatBytes(pushed.reduce((a, r) => a + r.bytes, 0))} sent`);
    return { schema: 'flowrun.push/1', mirror: remote.location, runs: results };
  }
}
