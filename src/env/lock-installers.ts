import { spawnSync } from 'node:child_process';
import { ExitCode, FlowError } from '../errors/index.js';

/** How to reinstall one kind of lock file exactly, without running install scripts. */
export interface LockInstaller {
  tool: 'npm' | 'pnpm' | 'yarn';
  /** The command and arguments to run in the extracted package directory. */
  command: string;
  args: string[];
}

const LOCK_TOOLS: Record<string, 'npm' | 'pnpm' | 'yarn'> = {
  'package-lock.json': 'npm',
  'pnpm-lock.yaml': 'pnpm',
  'yarn.lock': 'yarn',
};

/**
 * The installer for a recorded lock file: npm ci for package-lock.json; pnpm / yarn from PATH,
 * else through npx only when npx can run it offline from its cache (a replay must not depend on
 * a registry to find its installer). No usable tool is ENV_TOOL_MISSING (exit 4), naming the
 * lock and the tool, rather than a replay that silently uses other package versions.
 */
export function lockInstaller(lockName: string): LockInstaller {
  const tool = LOCK_TOOLS[lockName];
  if (!tool) throw new FlowError('ENV_TOOL_MISSING', `The recorded lock file ${lockName} is of a kind flowrun cannot reinstall.`, { exitCode: ExitCode.remote, fix: 'Use package-lock.json, pnpm-lock.yaml or yarn.lock.' });
  if (tool === 'npm') return { tool, command: 'npm', args: ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'] };
  const direct = versionOf(tool, []);
  const viaNpx = direct === undefined ? versionOf('npx', ['--offline', '--yes', tool]) : undefined;
  const version = direct ?? viaNpx;
  if (version === undefined) {
    throw new FlowError('ENV_TOOL_MISSING', `The run's dependencies are locked by ${lockName}, which changed since the run, and reinstalling it needs ${tool}, which is not installed (nor in npx's offline cache).`, {
      exitCode: ExitCode.remote,
      fix: `Install ${tool} (npm install -g ${tool}, or corepack enable ${tool}) and replay again; or restore the recorded ${lockName} and its node_modules.`,
    });
  }
  const [command, prefix] = direct !== undefined ? [tool, []] : ['npx', ['--offline', '--yes', tool]];
  if (tool === 'pnpm') return { tool, command, args: [...prefix, 'install', '--frozen-lockfile', '--ignore-scripts', '--prefer-offline'] };
  const classic = version.startsWith('1.');
  return { tool, command, args: [...prefix, 'install', ...(classic ? ['--frozen-lockfile', '--ignore-scripts', '--prefer-offline', '--non-interactive'] : ['--immutable', '--mode=skip-build'])] };
}

function versionOf(command: string, prefix: string[]): string | undefined {
  const r = spawnSync(command, [...prefix, '--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 && /^\d+\./.test(r.stdout.trim()) ? r.stdout.trim() : undefined;
}
