import { spawn } from 'node:child_process';
import { openProjectStore, listRuns } from '../client/client.js';
import { loadConfig } from '../config/config.js';
import { mirrorLocation } from '../mirror/mirror.js';
import { PATH_DISPLAY_MAX, displayValue } from '../util/terminal.js';
import { type UiServer, startUiServer } from '../ui/server.js';

/** `flow ui`: serves the project's store (and its mirror's runs) to a browser on 127.0.0.1. */
export async function runUi(o: { port: number; open: boolean; info: (line: string) => void }): Promise<UiServer> {
  const config = loadConfig(process.cwd());
  const store = openProjectStore(config);
  const mirror = mirrorLocation(config);
  const mirrorUrl = mirror ? `s3://${mirror.bucket}/${mirror.prefix}` : undefined;
  const server = await startUiServer({
    store,
    config,
    port: o.port,
    mirrorUrl,
    renderCard: async (ctx, run, step, task, id) => (await import('../ui/cards/page.js')).cardPage(ctx.reader, run, step, task, id),
  });
  const runs = (await listRuns(store)).length;
  o.info(`flow ui: serving the store ${displayValue(store.location, PATH_DISPLAY_MAX)} (${runs} run${runs === 1 ? '' : 's'})${mirrorUrl ? ` and the runs of the mirror ${displayValue(mirrorUrl, PATH_DISPLAY_MAX)} (fetched when opened)` : ''}, read-only, at ${server.url}`);
  o.info('Only this machine can connect (127.0.0.1). Press Ctrl-C to stop.');
  if (o.open) openBrowser(server.url);
  return server;
}

/** Best effort: a machine without a desktop just keeps the printed URL. */
function openBrowser(url: string): void {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    /* see above */
  }
}
