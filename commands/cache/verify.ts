import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { MAX_WORKERS } from '../../src/config/schema.js';

export default class CacheVerify extends BaseCommand {
  static override summary = 'Recompute the tasks a run reused from the step cache and check them bit for bit; evict every entry that did not reproduce.';
  static override description = "The tasks run from RUN's code package with its params and seed, as flow replay does; RUN's other tasks are taken as they are. Exit 0 only when every cached task reproduced. A diverged entry is removed here and, when a mirror is configured, from the mirror.";
  static override examples = ['<%= config.bin %> cache verify run-42'];
  static override enableJsonFlag = true;
  static override args = { run: Args.string({ description: 'a run that reused tasks from the cache', required: true }) };
  static override flags = {
    'max-workers': Flags.integer({ description: 'tasks run at once', min: 1, max: MAX_WORKERS }),
    quiet: Flags.boolean({ char: 'q', description: 'print only the verdict' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(CacheVerify);
    const { loadConfig } = await import('../../src/config/config.js');
    const { openProjectStore } = await import('../../src/client/client.js');
    const { renderCacheVerify, verifyCachedTasks } = await import('../../src/replay/cache-verify.js');
    const { runView } = await import('../../src/cli/run-view.js');
    await import('../../src/cli/backends.js');
    const config = loadConfig(process.cwd());
    const quiet = flags.quiet || this.jsonEnabled();
    const out = await verifyCachedTasks({
      config,
      store: openProjectStore(config),
      run: args.run,
      maxWorkers: flags['max-workers'],
      quiet,
      events: runView({ quiet, json: this.jsonEnabled() }),
    });
    const lines = renderCacheVerify(out);
    for (const l of flags.quiet ? lines.slice(-1) : lines) this.log(l);
    process.exitCode = out.exitCode;
    return out;
  }
}
