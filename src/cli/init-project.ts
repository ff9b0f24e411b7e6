import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UsageError } from '../errors/index.js';
import { FLOWRUN_VERSION, PACKAGE_ROOT } from '../util/package-info.js';

/** Template files whose names npm would drop from a package, stored without their dot. */
const DOTFILES: Record<string, string> = { gitignore: '.gitignore' };

export interface InitResult {
  schema: 'flowrun.init/1';
  dir: string;
  files: string[];
}

/** Copies templates/project into `dir`, filling in the project name and flowrun version. */
export function initProject(dir: string): InitResult {
  const target = resolve(dir);
  const source = join(PACKAGE_ROOT, 'templates', 'project');
  const files = listFiles(source);
  const clashes = files.map((f) => join(target, DOTFILES[f] ?? f)).filter((p) => existsSync(p));
  if (clashes.length > 0) {
    throw new UsageError('INIT_TARGET_EXISTS', `${target} already has ${clashes.map((c) => c.slice(target.length + 1)).join(', ')}.`, {
      file: clashes[0], fix: 'Run flow init in an empty directory, or name a new one: flow init my-project.',
    });
  }
  const name = basename(target).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '') || 'flows';
  const written: string[] = [];
  for (const f of files) {
    const out = join(target, DOTFILES[f] ?? f);
    mkdirSync(resolve(out, '..'), { recursive: true });
    const text = readFileSync(join(source, f), 'utf8').replaceAll('{{name}}', name).replaceAll('{{flowrunVersion}}', FLOWRUN_VERSION);
    writeFileSync(out, text);
    written.push(DOTFILES[f] ?? f);
  }
  return { schema: 'flowrun.init/1', dir: target, files: written.sort() };
}

function listFiles(root: string, prefix = ''): string[] {
  return readdirSync(join(root, prefix)).flatMap((name) => {
    const rel = prefix ? `${prefix}/${name}` : name;
    return statSync(join(root, rel)).isDirectory() ? listFiles(root, rel) : [rel];
  });
}
