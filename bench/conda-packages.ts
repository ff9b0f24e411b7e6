/**
 * The test channel's packages, built after real conda-forge ones (../shared/conda-reference:
 * install records of python, openssl, pip, requests...): the same kinds of files, placeholders,
 * virtual-package dependencies and link.json entry points. Each file's `@PREFIX@` is written as
 * the package's placeholder, a 255-character conda-build prefix like conda-forge's.
 */
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';

export interface FileDef {
  path: string;
  data?: string | Buffer;
  mode?: number;
  symlink?: string;
  /** The file holds the build prefix (written `@PREFIX@`): relocated in text or binary mode. */
  prefix?: 'text' | 'binary';
  /** This file's placeholder, when not the package's. */
  placeholder?: string;
}

export interface PackageDef {
  name: string;
  version: string;
  build?: string;
  buildNumber?: number;
  /** noarch (default) or linux-64. */
  subdir?: 'noarch' | 'linux-64';
  noarch?: 'python' | 'generic';
  format: 'tar.bz2' | 'conda';
  depends?: string[];
  constrains?: string[];
  files: FileDef[];
  /** `name = module:function` console scripts, written to info/link.json (noarch python). */
  entryPoints?: string[];
  pythonSitePackagesPath?: string;
  /** How info/ lists the files: paths.json (default), the older info/files + info/has_prefix, or a truncated paths.json. */
  info?: 'paths.json' | 'has_prefix' | 'corrupt-paths.json';
  /** Served with bytes that do not match the repodata's sha256. */
  tamper?: boolean;
  /** info/ files written as given instead of generated (hostile or broken metadata). */
  infoOverride?: Record<string, string>;
}

export const fileName = (p: PackageDef): string => `${p.name}-${p.version}-${p.build ?? '0'}.${p.format}`;

/** conda-build's placeholder: the build prefix padded to 255 characters with `_placehold`. */
export function placeholderOf(p: Pick<PackageDef, 'name'>): string {
  const start = `/home/conda/feedstock_root/build_artifacts/${p.name}_1704067200000/_h_env_placehold`;
  return (start + '_placehold'.repeat(30)).slice(0, 255);
}

/** The machine's CPython 3.11 (real path and version): the test "python" package runs it as the env's interpreter. */
export function machinePython(): { executable: string; version: string } {
  return (found ??= findPython());
}

let found: { executable: string; version: string } | undefined;

function findPython(): { executable: string; version: string } {
  for (const cmd of ['python3.11', 'python3']) {
    const r = spawnSync(cmd, ['-c', 'import os, sys; print(os.path.realpath(sys.executable)); print("%d.%d.%d" % sys.version_info[:3])'], { encoding: 'utf8' });
    if (r.status !== 0) continue;
    const [executable, version] = r.stdout.trim().split('\n') as [string, string];
    if (version.startsWith('3.11.')) return { executable, version };
  }
  throw new Error('The conda test channel needs CPython 3.11 on PATH (python3.11 or python3).');
}

const script = (text: string): FileDef => ({ path: 'bin/hello', mode: 0o755, data: `#!/bin/sh\necho "${text}"\n` });

/** A shared library's bytes: an ELF header, code-ish filler, and the C strings conda-forge builds embed (the prefix among them). */
function sharedLibrary(strings: string[]): Buffer {
  const elf = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, ...Array(8).fill(0), 3, 0, 0x3e, 0]);
  const filler = Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 37 + 11) & 0xff).map((b) => b || 1));
  return Buffer.concat([elf, filler, ...strings.map((s) => Buffer.from(`${s}\0`)), filler]);
}

/**
 * conda-forge's python: the interpreter, its scripts (text placeholders in shebangs, .pc files,
 * _sysconfigdata), libpython (binary placeholder), links, and `__glibc` in its depends. The
 * interpreter is a stand-in: `bin/python3.11` runs the machine's CPython 3.11 under the env's
 * name, and pyvenv.cfg makes that CPython take the env as sys.prefix, so `import` finds the
 * env's site-packages, `sys.executable` is the env's python, and compileall writes real .pyc.
 */
export function pythonPackage(version: string, build: string, o: { buildNumber?: number; glibc?: string } = {}): PackageDef {
  const py = machinePython();
  const mm = version.split('.').slice(0, 2).join('.');
  return {
    name: 'python',
    version,
    build,
    buildNumber: o.buildNumber ?? 0,
    subdir: 'linux-64',
    format: 'conda',
    depends: [`__glibc >=${o.glibc ?? '2.17'},<3.0.a0`, 'libdemo >=3.0,<4.0a0', 'tzdata'],
    constrains: [`python_abi ${mm}.* *_cp${mm.replace('.', '')}`],
    pythonSitePackagesPath: `lib/python${mm}/site-packages`,
    files: [
      { path: `bin/python${mm}`, mode: 0o755, prefix: 'text', data: `#!/bin/bash\n# Stand-in for conda-forge's python binary: the machine's CPython, run as this environment's interpreter.\nexec -a "@PREFIX@/bin/python${mm}" "${py.executable}" "$@"\n` },
      { path: 'bin/python3', symlink: `python${mm}` },
      { path: 'bin/python', symlink: `python${mm}` },
      { path: `bin/pydoc${mm}`, mode: 0o755, prefix: 'text', data: `#!@PREFIX@/bin/python${mm}\nimport pydoc\nif __name__ == '__main__':\n    pydoc.cli()\n` },
      { path: 'bin/pydoc3', symlink: `pydoc${mm}` },
      { path: `bin/python${mm}-config`, mode: 0o755, prefix: 'text', data: `#!/bin/sh\nprefix="@PREFIX@"\nexec_prefix="\${prefix}"\necho "-I\${prefix}/include/python${mm} -L\${exec_prefix}/lib -lpython${mm}"\n` },
      { path: `lib/libpython${mm}.so.1.0`, mode: 0o755, prefix: 'binary', data: sharedLibrary(['GCC: (conda-forge gcc 13.2.0-7) 13.2.0', '@PREFIX@/lib', `@PREFIX@/lib/python${mm}`, `@PREFIX@/lib/python${mm}/lib-dynload:@PREFIX@/lib`]) },
      { path: `lib/libpython${mm}.so`, symlink: `libpython${mm}.so.1.0` },
      {
        path: `lib/pkgconfig/python-${mm}.pc`,
        prefix: 'text',
        data: `prefix=@PREFIX@\nexec_prefix=\${prefix}\nlibdir=\${exec_prefix}/lib\nincludedir=\${prefix}/include\n\nName: Python\nDescription: Build a C extension for Python\nRequires:\nVersion: ${mm}\nLibs.private: -ldl -lm\nLibs: -L\${libdir} -lpython${mm}\nCflags: -I\${includedir}/python${mm}\n`,
      },
      { path: 'lib/pkgconfig/python3.pc', symlink: `python-${mm}.pc` },
      { path: `lib/python${mm}/_sysconfigdata__linux_x86_64-linux-gnu.py`, prefix: 'text', data: `build_time_vars = {'prefix': '@PREFIX@', 'LIBDIR': '@PREFIX@/lib', 'VERSION': '${mm}'}\n` },
      { path: `lib/python${mm}/site-packages/README.txt`, data: 'This directory exists so that 3rd party packages can be installed here.  Read the\nsource for site.py for more details.\n' },
      { path: 'pyvenv.cfg', data: `home = ${dirname(py.executable)}\ninclude-system-site-packages = false\nversion = ${py.version}\n` },
    ],
  };
}

/** openssl's shape: a script and .pc files with text placeholders, a library with binary ones, a versioned-library link. */
export const LIBDEMO: PackageDef = {
  name: 'libdemo',
  version: '3.3.0',
  build: 'hb9d3cd8_3',
  buildNumber: 3,
  subdir: 'linux-64',
  format: 'conda',
  depends: ['__glibc >=2.17,<3.0.a0', 'ca-demo'],
  files: [
    { path: 'bin/libdemo-rehash', mode: 0o755, prefix: 'text', data: '#!/bin/sh\n# Like openssl\'s c_rehash: prints the certificate directory it works on.\nDIR="@PREFIX@/ssl/certs"\necho "$DIR"\n' },
    { path: 'include/libdemo.h', data: '#define LIBDEMO_VERSION "3.3.0"\nint libdemo_init(void);\n' },
    { path: 'lib/libdemo.so.3', mode: 0o755, prefix: 'binary', data: sharedLibrary(['GCC: (conda-forge gcc 13.2.0-7) 13.2.0', 'OPENSSLDIR: "@PREFIX@/ssl"', '@PREFIX@/lib/engines-3', 'libdemo 3.3.0 30 Jan 2024']) },
    { path: 'lib/libdemo.so', symlink: 'libdemo.so.3' },
    {
      path: 'lib/pkgconfig/libdemo.pc',
      prefix: 'text',
      data: 'prefix=@PREFIX@\nexec_prefix=${prefix}\nlibdir=${exec_prefix}/lib\nincludedir=${prefix}/include\nenginesdir=${libdir}/engines-3\n\nName: libdemo\nDescription: demo of a relocated library\nVersion: 3.3.0\nLibs: -L${libdir} -ldemo\nCflags: -I${includedir}\n',
    },
    { path: 'ssl/libdemo.cnf', data: '[ default ]\ndir = ./demoCA\n' },
  ],
};

/** pip's shape: noarch python, files under site-packages/, a dist-info, entry points in info/link.json, `__unix` in depends. */
export const MINIPIP: PackageDef = {
  name: 'minipip',
  version: '23.0',
  build: 'pyhd8ed1ab_0',
  noarch: 'python',
  format: 'conda',
  depends: ['python >=3.8', '__unix'],
  entryPoints: ['minipip = minipip._cli:main', 'minipip3 = minipip._cli:main'],
  files: [
    { path: 'site-packages/minipip/__init__.py', data: '__version__ = "23.0"\n' },
    { path: 'site-packages/minipip/__main__.py', data: 'from minipip._cli import main\n\nraise SystemExit(main())\n' },
    {
      path: 'site-packages/minipip/_cli.py',
      data: 'import os\nimport sys\n\nfrom minipip import __version__\n\n\ndef main(argv=None):\n    args = sys.argv[1:] if argv is None else argv\n    if args[:1] == ["--version"]:\n        here = os.path.dirname(os.path.abspath(__file__))\n        print(f"minipip {__version__} from {here} (python {sys.version_info[0]}.{sys.version_info[1]})")\n        return 0\n    print("usage: minipip --version", file=sys.stderr)\n    return 2\n',
    },
    { path: 'site-packages/minipip-23.0.dist-info/METADATA', data: 'Metadata-Version: 2.1\nName: minipip\nVersion: 23.0\nSummary: pip-shaped test package\n' },
    { path: 'site-packages/minipip-23.0.dist-info/INSTALLER', data: 'conda\n' },
    { path: 'site-packages/minipip-23.0.dist-info/entry_points.txt', data: '[console_scripts]\nminipip = minipip._cli:main\nminipip3 = minipip._cli:main\n' },
    { path: 'site-packages/minipip-23.0.dist-info/top_level.txt', data: 'minipip\n' },
  ],
};

/** The packages of the test channel; python packages wrap the machine's CPython 3.11. */
export function channelPackages(): PackageDef[] {
  return [
    pythonPackage('3.11.0', 'h0b1c2d3_0_cpython'),
    pythonPackage('3.11.9', 'h9a8b7c6_0_cpython'),
    // A newer build of the same version that needs a newer glibc than any test machine: the solver must not pick it.
    pythonPackage('3.11.9', 'h9a8b7c6_1_cpython', { buildNumber: 1, glibc: '2.99' }),
    pythonPackage('3.12.1', 'h1a2b3c4_0_cpython'),
    LIBDEMO,
    MINIPIP,
    { name: 'ca-demo', version: '2024.2.2', build: 'hbcca054_0', format: 'conda', files: [{ path: 'ssl/cacert.pem', data: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' }] },
    { name: 'tzdata', version: '2024a', build: 'h0c530f3_0', format: 'conda', files: [{ path: 'share/zoneinfo/UTC', data: 'TZif2' }] },
    { name: 'hello', version: '1.0', format: 'tar.bz2', files: [script('hello 1.0'), { path: 'share/hello/README', data: 'hello' }, { path: 'bin/hi', symlink: 'hello' }] },
    { name: 'hello', version: '2.0', format: 'conda', files: [script('hello 2.0')] },
    // Built before paths.json existed: info/files + info/has_prefix, one line per form.
    {
      name: 'legacy-tool',
      version: '1.0',
      format: 'tar.bz2',
      info: 'has_prefix',
      files: [
        { path: 'bin/legacy-tool', mode: 0o755, prefix: 'text', placeholder: '/opt/anaconda1anaconda2anaconda3', data: '#!/bin/sh\necho "legacy tool in @PREFIX@"\n' },
        { path: 'etc/legacy tool.conf', prefix: 'text', data: 'root=@PREFIX@\n' },
      ],
    },
    { name: 'clobber-a', version: '1.0', format: 'conda', files: [{ path: 'share/clobber/NOTICE', data: 'from clobber-a\n' }] },
    { name: 'clobber-b', version: '1.0', format: 'conda', files: [{ path: 'share/clobber/NOTICE', data: 'from clobber-b\n' }] },
    { name: 'oldlib', version: '1.0', build: 'pyhd8ed1ab_0', noarch: 'python', format: 'conda', depends: ['python >=3.8,<3.12'], files: [{ path: 'site-packages/oldlib.py', data: 'X = 1\n' }] },
    { name: 'needs-cuda', version: '1.0', format: 'conda', depends: ['__cuda >=12'], files: [{ path: 'share/needs-cuda', data: 'gpu' }] },
    {
      name: 'postlink',
      version: '1.0',
      format: 'conda',
      files: [
        { path: 'bin/.postlink-post-link.sh', mode: 0o755, data: '#!/bin/sh\necho hi >> "$PREFIX/.messages.txt"\n' },
        { path: 'bin/postlink', mode: 0o755, data: '#!/bin/sh\n' },
      ],
    },
    { name: 'shortpad', version: '1.0', subdir: 'linux-64', format: 'conda', files: [{ path: 'lib/libshort.so', prefix: 'binary', placeholder: '/opt/short', data: sharedLibrary(['@PREFIX@/lib']) }] },
    { name: 'badpaths', version: '1.0', format: 'conda', info: 'corrupt-paths.json', files: [{ path: 'bin/badpaths', mode: 0o755, data: '#!/bin/sh\n' }] },
    { name: 'tampered', version: '1.0', format: 'tar.bz2', tamper: true, files: [script('tampered')] },
    { name: 'traversal', version: '1.0', format: 'tar.bz2', files: [script('ok'), { path: '../../escaped.txt', data: 'outside' }] },
    { name: 'badlink', version: '1.0', format: 'tar.bz2', files: [{ path: 'bin/passwd', symlink: '../../../../../../etc/passwd' }] },
  ];
}
