import { Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import type { FsckReport } from '../src/store/fsck.js';

export default class Fsck extends BaseCommand {
  static override summary = "Verify every object against its hash and every record's references; exit 3 on any problem.";
  static override examples = ['<%= config.bin %> fsck', '<%= config.bin %> fsck --json', '<%= config.bin %> fsck --remote'];
  static override enableJsonFlag = true;
  static override flags = {
    remote: Flags.boolean({ description: 'check the S3 mirror instead of the local store (downloads and verifies every object)' }),
    strict: Flags.boolean({ description: 'also fail (exit 3) on notes, such as a temp file a killed write left behind (harmless: DESIGN §5)' }),
  };

  async run(): Promise<FsckReport> {
    const { flags } = await this.parse(Fsck);
    const { fsck } = await import('../src/store/fsck.js');
    let store;
    if (flags.remote) {
      const { loadConfig } = await import('../src/config/config.js');
      const { requireMirror } = await import('../src/mirror/sync.js');
      store = await requireMirror(loadConfig(process.cwd()), 'fsck --remote');
    } else {
      store = (await import('../src/client/client.js')).openStore();
    }
    const report = await fsck(store);
    for (const n of report.notes) this.log(`note: ${n.code} ${n.subject}: ${n.message}`);
    for (const p of report.problems) {
      this.log(`${p.code} ${p.subject}: ${p.message}${p.referrers?.length ? ` (referenced by ${p.referrers.join(', ')})` : ''}`);
    }
    this.log(`${report.store}: ${report.objects} objects, ${report.runs} runs, ${report.tasks} tasks checked; ${report.problems.length} problem(s)`);
    const { ExitCode } = await import('../src/errors/index.js');
    if (report.problems.length > 0 || (flags.strict && report.notes.length > 0)) process.exitCode = ExitCode.storeIntegrity;
    return report;
  }
}
