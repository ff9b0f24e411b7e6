import { Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';

export default class Gc extends BaseCommand {
  static override summary = 'Delete runs that are not kept, then every object no kept run references.';
  static override description = 'Without --keep-last or --keep, every run is kept and only unreferenced objects go. A run still running, and anything written in the last hour, is never deleted, so gc is safe while runs are in progress.';
  static override examples = ['<%= config.bin %> gc --dry-run', '<%= config.bin %> gc --keep-last 20', '<%= config.bin %> gc --remote --keep run-3 --keep run-9'];
  static override enableJsonFlag = true;
  static override flags = {
    remote: Flags.boolean({ description: 'collect garbage on the S3 mirror instead of the local store' }),
    'dry-run': Flags.boolean({ description: 'report what would be deleted, delete nothing' }),
    'keep-last': Flags.integer({ description: 'keep the newest N runs of each flow', min: 0 }),
    keep: Flags.string({ description: 'keep this run (repeatable)', multiple: true }),
    'grace-minutes': Flags.integer({ description: 'never delete anything written more recently than this (protects runs in progress)', default: 60, min: 0 }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Gc);
    const { collectGarbage } = await import('../src/store/gc.js');
    const { formatBytes } = await import('../src/util/bytes.js');
    let store;
    if (flags.remote) {
      const { loadConfig } = await import('../src/config/config.js');
      const { requireMirror } = await import('../src/mirror/sync.js');
      const mirror = await requireMirror(loadConfig(process.cwd()), 'gc --remote');
      store = new (await import('../src/store/s3-gc.js')).CollectableS3Store(mirror.loc, mirror.client);
    } else {
      store = (await import('../src/client/client.js')).openStore();
    }
    const report = await collectGarbage(store, { dryRun: flags['dry-run'], keepLast: flags['keep-last'], keep: flags.keep, graceMs: flags['grace-minutes'] * 60_000 });
    const verb = report.dryRun ? 'would delete' : 'deleted';
    if (report.deletedRuns.length) this.log(`${verb} runs: ${report.deletedRuns.join(' ')}`);
    this.log(
      `${report.store}: kept ${report.keptRuns.length} run(s); ${verb} ${report.deletedRuns.length} run(s) and ${report.deletedObjects} object(s), ${formatBytes(report.deletedBytes)}` +
        `${report.protectedRecent ? `; ${report.protectedRecent} unreferenced object(s) younger than the grace period kept` : ''}${report.partialPacks ? `; ${report.partialPacks} pack(s) partly in use kept` : ''}` +
        `${report.deletedCacheEntries ? `; ${verb} ${report.deletedCacheEntries} step cache entr${report.deletedCacheEntries === 1 ? 'y' : 'ies'} of deleted runs` : ''}`,
    );
    if (report.skippedSymlinks.length) this.log(`note: ${report.skippedSymlinks.length} symlink(s) in the store were left alone (gc never follows a symlink): ${report.skippedSymlinks.slice(0, 3).join(', ')}${report.skippedSymlinks.length > 3 ? ', ...' : ''}`);
    return report;
  }
}
