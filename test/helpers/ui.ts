import { execa, type ResultPromise } from 'execa';
import { BIN } from './cli.js';

/** A real `flow ui` process on a free port, in `cwd`; stopped with SIGINT. */
export async function startUi(cwd: string, env: Record<string, string> = {}): Promise<{ url: string; port: number; banner: string; stop: () => Promise<void> }> {
  const child: ResultPromise = execa(process.execPath, [BIN, 'ui', '--port', '0'], { cwd, reject: false, stdin: 'ignore', env: { NO_COLOR: '1', ...env } });
  let banner = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`flow ui did not start: ${banner}`)), 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      banner += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(banner);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void child.then((r) => {
      clearTimeout(timer);
      reject(new Error(`flow ui exited ${r.exitCode}: ${banner}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    banner,
    stop: async () => {
      child.kill('SIGINT');
      await child;
    },
  };
}
