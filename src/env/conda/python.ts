import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { MAX_SHEBANG_LENGTH } from './placeholder.js';
import type { EntryPoint, PackageIndex } from './package-info.js';

const run = promisify(execFile);

/** The environment's Python, as the linker needs it for `noarch: python` packages. */
export interface PythonInfo {
  /** major.minor, e.g. 3.11 */
  version: string;
  /** Where `site-packages/` of a noarch package goes, relative to the prefix. */
  sitePackages: string;
  /** The interpreter, relative to the prefix (bin/python3.11, as conda names it). */
  executable: string;
}

/** From the `python` package of the environment: its version and, when it says, `python_site_packages_path`. */
export function pythonInfo(index: PackageIndex): PythonInfo {
  const version = /^(\d+)\.(\d+)/.exec(String(index.version))?.slice(1, 3).join('.') ?? String(index.version);
  const sitePackages = typeof index.python_site_packages_path === 'string' && index.python_site_packages_path !== '' ? index.python_site_packages_path.replace(/\/+$/, '') : `lib/python${version}/site-packages`;
  return { version, sitePackages, executable: `bin/python${version}` };
}

/** Where a file of a `noarch: python` package lands: site-packages/ and python-scripts/ are mapped, the rest stays. */
export function noarchPythonPath(path: string, py: PythonInfo): string {
  if (path.startsWith('site-packages/')) return `${py.sitePackages}/${path.slice('site-packages/'.length)}`;
  if (path.startsWith('python-scripts/')) return `bin/${path.slice('python-scripts/'.length)}`;
  return path;
}

/**
 * A console script as conda writes it for an entry point: the env's Python in the shebang (or,
 * when that line would be too long for the kernel, a /bin/sh line that execs the same Python
 * with the script, conda's and pip's trick), the import, and the call.
 */
export function entryPointScript(ep: EntryPoint, python: string): string {
  const direct = `#!${python}`;
  const shebang = Buffer.byteLength(direct) <= MAX_SHEBANG_LENGTH && !python.includes(' ') ? direct : `#!/bin/sh\n'''exec' "${python}" "$0" "$@" #'''`;
  const importName = ep.func.split('.')[0];
  return `${shebang}
# -*- coding: utf-8 -*-
import re
import sys

from ${ep.module} import ${importName}

if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])
    sys.exit(${ep.func}())
`;
}

/** `a/b/mod.py` -> `a/b/__pycache__/mod.cpython-311.pyc`, the file CPython writes for it. */
export function pycPath(py: string, version: string): string {
  return join(dirname(py), '__pycache__', `${basename(py, '.py')}.cpython-${version.replace('.', '')}.pyc`);
}

/**
 * Compiles the given .py files (relative to the prefix) with the environment's own Python, as
 * conda does after linking noarch packages, and returns the .pyc files that exist afterwards.
 * A file the interpreter cannot compile (say, syntax of a newer Python) is skipped, as in conda.
 */
export async function compilePyc(prefix: string, py: PythonInfo, files: string[]): Promise<string[]> {
  if (files.length === 0) return [];
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'PYTHONPATH' && k !== 'PYTHONHOME'));
  const child = run(join(prefix, py.executable), ['-Wi', '-m', 'compileall', '-q', '-l', '-i', '-'], { cwd: prefix, env, timeout: 10 * 60_000, maxBuffer: 16 << 20 });
  child.child.stdin?.end(files.map((f) => join(prefix, f)).join('\n'));
  try {
    await child;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'EACCES') throw e;
    // compileall exits 1 when some file did not compile; the ones that did are kept.
  }
  return files.map((f) => pycPath(f, py.version)).filter((p) => existsSync(join(prefix, p)));
}
