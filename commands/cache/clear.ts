import { Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';

export default class CacheClear extends BaseCommand {
  static override summary = "Delete step cache entries: every one, or one step's; the runs and their objects stay.";
  static override examples = ['<%= config.bin %> cache clear', '<%= config.bin %> cache clear --step train', '<%= config.bin %> cache clear --remote --step train'];
  static override enableJsonFlag = true;
  static override flags = {
    step: Flags.string({ description: "only this step's entries" }),
    remote: Flags.boolean({ description: "also the S3 mirror's entries (every machine stops reusing them)" }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(CacheClear);
    const { loadConfig } = await import('../../src/config/config.js');
    const { openProjectStore } = await import('../../src/client/client.js');
    const { clearLocalEntries } = await import('../../src/cache/entries.js');
    const config = loadConfig(process.cwd());
    const store = openProjectStore(config);
    const local = clearLocalEntries(store, flags.step);
    const what = flags.step ? `step ${flags.step}'s` : 'every';
    this.log(`${store.location}: removed ${local} step cache entr${local === 1 ? 'y' : 'ies'} (${what})`);
    let remote: number | undefined;
    if (flags.remote) {
      const { requireMirror } = await import('../../src/mirror/sync.js');
      const { clearRemoteEntries } = await import('../../src/cache/remote.js');
      const mirror = await requireMirror(config, 'cache clear --remote');
      remote = await clearRemoteEntries(mirror, flags.step);
      this.log(`${mirror.location}: removed ${remote} step cache entr${remote === 1 ? 'y' : 'ies'} (${what})`);
    }
    return { schema: 'flowrun.cache-clear/1', step: flags.step ?? null, local, ...(remote !== undefined ? { remote } : {}) };
  }
}
