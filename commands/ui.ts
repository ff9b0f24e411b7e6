import { Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';

export default class Ui extends BaseCommand {
  static override summary = 'Serve a local web UI over the store and mirror: runs, DAGs, timelines, tasks, artifacts, logs, diffs, code and cards.';
  static override description = 'Read-only, bound to 127.0.0.1; every asset ships with flowrun (no network needed). Stop it with Ctrl-C.';
  static override examples = ['<%= config.bin %> ui', '<%= config.bin %> ui --port 8080 --open'];
  static override flags = {
    port: Flags.integer({ description: 'port on 127.0.0.1 (0 picks a free one)', default: 7430, min: 0, max: 65535 }),
    open: Flags.boolean({ description: 'open the UI in the default browser' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Ui);
    const { runUi } = await import('../src/cli/ui-command.js');
    const server = await runUi({ port: flags.port, open: flags.open, info: (line) => process.stderr.write(`${line}\n`) });
    await new Promise<void>((resolve) => {
      const stop = () => {
        void server.close().then(resolve);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  }
}
