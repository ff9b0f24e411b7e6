import { BaseCommand } from '../src/cli/base.js';
import type { FsckReport } from '../src/store/fsck.js';

export default class Fsck extends BaseCommand {
  static override summary = 'Verify every object against its hash and every record\'s references; exit 3 on any problem.';
  static override examples = ['<%= config.bin %> fsck', '<%= config.bin %> fsck --json'];
  static override enableJsonFlag = true;

  async run(): Promise<FsckReport> {
    await this.parse(Fsck);
    const { fsck } = await import('../src/store/fsck.js');
    const { openStore } = await import('../src/client/client.js');
    const report = await fsck(openStore());
    for (const n of report.notes) this.log(`note: ${n.code} ${n.subject}: ${n.message}`);
    for (const p of report.problems) {
      this.log(`${p.code} ${p.subject}: ${p.message}${p.referrers?.length ? ` (referenced by ${p.referrers.join(', ')})` : ''}`);
    }
    this.log(`${report.store}: ${report.objects} objects, ${report.runs} runs, ${report.tasks} tasks checked; ${report.problems.length} problem(s)`);
    if (report.problems.length > 0) process.exitCode = 3;
    return report;
  }
}
