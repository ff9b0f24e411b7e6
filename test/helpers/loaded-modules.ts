import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO, flow, tempDir, type CliResult } from './cli.js';

const PROBE = pathToFileURL(join(REPO, 'test', 'helpers', 'module-probe.mjs')).href;

/**
 * Runs the CLI and returns what it printed, every module file it loaded (paths, not URLs) and
 * the Node built-in modules it loaded (internal ones included, as Node names them: `fs/promises`,
 * `internal/fs/promises`).
 */
export async function flowModules(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult & { modules: string[]; builtins: string[] }> {
  const out = join(tempDir('flowrun-modules-'), 'modules.txt');
  const r = await flow(args, { cwd, env: { ...env, NODE_OPTIONS: `--import=${PROBE}`, FLOW_TEST_MODULES_OUT: out } });
  const lines = existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : [];
  return { ...r, modules: modulePaths(lines.filter((l) => !l.startsWith('bin '))), builtins: [...new Set(lines.filter((l) => l.startsWith('bin ')).map((l) => l.slice(4)))] };
}

export function readModules(file: string): string[] {
  return modulePaths(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('bin ')),
  );
}

function modulePaths(lines: string[]): string[] {
  return [...new Set(lines.map((l) => l.slice(4)).map((l) => (l.startsWith('file://') ? decodeURIComponent(new URL(l).pathname) : l)))];
}

/** The npm packages among loaded module paths: the name after the last node_modules/. */
export function packagesOf(modules: string[]): string[] {
  const names = new Set<string>();
  for (const m of modules) {
    const at = m.lastIndexOf('/node_modules/');
    if (at < 0) continue;
    const rest = m.slice(at + '/node_modules/'.length).split('/');
    names.add(rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!);
  }
  return [...names].sort();
}
