import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { UsageError } from '../errors/index.js';
import { FLOWRUN_VERSION, PACKAGE_ROOT } from '../util/package-info.js';

/** Template files whose names npm would drop from a package, stored without their dot. */
const DOTFILES: Record<string, string> = { gitignore: '.gitignore' };

export interface InitResult {
  schema: 'flowrun.init/1';
  dir: string;
  /** Every file written (created or updated), project-relative, sorted. */
  files: string[];
  created: string[];
  /** Existing files flowrun added to (package.json entries, .gitignore lines). */
  updated: string[];
  /** Existing files (or package.json entries) left as they were. */
  kept: string[];
  git: 'initialized' | 'existing' | 'unavailable';
  /** The flowrun dependency the project's package.json has. */
  flowrun: string;
}

type PackageJson = Record<string, unknown> & { name?: string; scripts?: Record<string, string>; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };

/**
 * `flow init [dir]`: makes `dir` (new, empty or an existing project) a flowrun project without
 * overwriting anything: the template's flows, README, .gitignore lines and tsconfig are added
 * where missing, package.json gains the scripts and dependencies it lacks (an existing one
 * keeps every field it has), and a folder outside any git repository gets `git init`.
 */
export function initProject(dir: string): InitResult {
  const target = resolve(dir);
  if (existsSync(target) && !statSync(target).isDirectory()) {
    throw new UsageError('INIT_TARGET_EXISTS', `${target} is a file, not a directory.`, { file: target, fix: 'Name a directory: flow init my-project.' });
  }
  mkdirSync(target, { recursive: true });
  const source = join(PACKAGE_ROOT, 'templates', 'project');
  const r: InitResult = { schema: 'flowrun.init/1', dir: target, files: [], created: [], updated: [], kept: [], git: 'existing', flowrun: '' };
  const pkg = readPackageJson(target);
  const name =
    pkg.json?.name ??
    (basename(target)
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[._-]+/, '') ||
      'flows');
  r.flowrun = pkg.json?.dependencies?.flowrun ?? pkg.json?.devDependencies?.flowrun ?? flowrunSpec(target);
  const fill = (text: string) => text.replaceAll('{{name}}', name).replaceAll('{{flowrunVersion}}', FLOWRUN_VERSION).replaceAll('{{flowrunSpec}}', r.flowrun);
  const template = (f: string) => fill(readFileSync(join(source, f), 'utf8'));
  // An existing root tsconfig that is not flowrun's own is the user's: the flows get their own
  // next to them, which editors pick for them.
  const root = join(target, 'tsconfig.json');
  const tsconfig = existsSync(root) && readFileSync(root, 'utf8') !== template('tsconfig.json') ? 'flows/tsconfig.json' : 'tsconfig.json';
  if (tsconfig !== 'tsconfig.json') r.kept.push('tsconfig.json');
  for (const f of listFiles(source)) {
    const out = DOTFILES[f] ?? f;
    if (out === 'package.json') mergePackageJson(target, pkg, JSON.parse(template(f)) as PackageJson, tsconfig, r);
    else if (out === '.gitignore') addLines(target, out, template(f), r);
    else if (out === 'tsconfig.json') create(target, tsconfig, tsconfig === 'tsconfig.json' ? template(f) : flowsTsconfig(template(f)), r);
    else create(target, out, template(f), r);
  }
  r.git = gitInit(target);
  r.files = [...r.created, ...r.updated].sort();
  return r;
}

/**
 * What package.json should depend on while flowrun is not on the npm registry: this very
 * flowrun. Run from a clone (or a link to one), that is the clone's folder; installed from a
 * tarball into another project, the `file:` spec that project used (made relative to the new
 * one); installed from the registry, the version range.
 */
export function flowrunSpec(target: string): string {
  const parts = PACKAGE_ROOT.split(sep);
  const at = parts.lastIndexOf('node_modules');
  if (at === -1) return `file:${relative(target, PACKAGE_ROOT) || '.'}`;
  const owner = parts.slice(0, at).join(sep);
  const ownerPkg = readPackageJson(owner).json;
  const spec = ownerPkg?.dependencies?.flowrun ?? ownerPkg?.devDependencies?.flowrun;
  if (spec?.startsWith('file:')) return `file:${relative(target, resolve(owner, spec.slice('file:'.length)))}`;
  return `^${FLOWRUN_VERSION}`;
}

function readPackageJson(dir: string): { json?: PackageJson; indent: string | number } {
  const path = join(dir, 'package.json');
  if (!existsSync(path)) return { indent: 2 };
  const text = readFileSync(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError('INIT_PACKAGE_JSON', `${path} is not valid JSON (${(e as Error).message}), so flow init cannot add to it.`, { file: path, fix: 'Fix package.json (npm pkg fix can help), then run flow init again.' });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UsageError('INIT_PACKAGE_JSON', `${path} is not a JSON object, so flow init cannot add to it.`, { file: path, fix: 'Fix package.json, then run flow init again.' });
  }
  return { json: json as PackageJson, indent: /^\{\r?\n(\s+)"/.exec(text)?.[1] ?? 2 };
}

/** Adds the template's scripts and dependencies the project lacks; nothing it has is changed. */
function mergePackageJson(target: string, pkg: { json?: PackageJson; indent: string | number }, template: PackageJson, tsconfig: string, r: InitResult): void {
  const scripts = { ...template.scripts, typecheck: tsconfig === 'tsconfig.json' ? 'tsc -p .' : 'tsc -p flows' };
  if (!pkg.json) {
    writeFileSync(join(target, 'package.json'), `${JSON.stringify({ ...template, scripts }, null, 2)}\n`);
    r.created.push('package.json');
    return;
  }
  const json = pkg.json;
  const added: string[] = [];
  const has = (name: string) => Object.hasOwn(json.dependencies ?? {}, name) || Object.hasOwn(json.devDependencies ?? {}, name);
  for (const [section, entries] of [
    ['scripts', scripts],
    ['dependencies', template.dependencies ?? {}],
    ['devDependencies', template.devDependencies ?? {}],
  ] as const) {
    for (const [key, value] of Object.entries(entries)) {
      const mine = section === 'scripts' ? json.scripts?.[key] : has(key) ? key : undefined;
      if (mine !== undefined) {
        if (section === 'scripts' && mine !== value) r.kept.push(`package.json scripts.${key}`);
        continue;
      }
      json[section] = { ...(json[section] as Record<string, string> | undefined), [key]: value };
      added.push(`${section}.${key}`);
    }
  }
  if (added.length === 0) {
    r.kept.push('package.json');
    return;
  }
  writeFileSync(join(target, 'package.json'), `${JSON.stringify(json, null, pkg.indent)}\n`);
  r.updated.push('package.json');
}

/** The template tsconfig for a flows/ folder of its own. */
function flowsTsconfig(text: string): string {
  const json = JSON.parse(text) as { include?: string[] };
  json.include = ['.'];
  return `${JSON.stringify(json, null, 2)}\n`;
}

function create(target: string, rel: string, text: string, r: InitResult): void {
  const path = join(target, rel);
  if (existsSync(path)) {
    r.kept.push(rel);
    return;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  r.created.push(rel);
}

/** Appends the template's lines a file lacks (.gitignore), or creates it. */
function addLines(target: string, rel: string, text: string, r: InitResult): void {
  const path = join(target, rel);
  if (!existsSync(path)) {
    create(target, rel, text, r);
    return;
  }
  const have = readFileSync(path, 'utf8');
  const lines = new Set(have.split(/\r?\n/).map((l) => l.trim().replace(/^\//, '')));
  const missing = text.split('\n').filter((l) => l.trim() && !lines.has(l.trim()) && !lines.has(l.trim().replace(/\/$/, '')));
  if (missing.length === 0) {
    r.kept.push(rel);
    return;
  }
  writeFileSync(path, `${have}${have === '' || have.endsWith('\n') ? '' : '\n'}${missing.join('\n')}\n`);
  r.updated.push(rel);
}

/** Runs are tied to a git commit: a folder outside any repository gets one (without a commit). */
function gitInit(target: string): InitResult['git'] {
  const inside = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: target, encoding: 'utf8' });
  if (inside.error) return 'unavailable';
  if (inside.status === 0 && inside.stdout.trim() === 'true') return 'existing';
  const init = spawnSync('git', ['init', '-q'], { cwd: target, encoding: 'utf8' });
  return init.status === 0 ? 'initialized' : 'unavailable';
}

function listFiles(root: string, prefix = ''): string[] {
  return readdirSync(join(root, prefix))
    .flatMap((name) => {
      const rel = prefix ? `${prefix}/${name}` : name;
      return statSync(join(root, rel)).isDirectory() ? listFiles(root, rel) : [rel];
    })
    .sort();
}
