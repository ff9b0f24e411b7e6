/**
 * A tiny conda channel served on 127.0.0.1, built from real archives shaped like conda-forge's
 * (bench/conda-packages.ts): shared by the tests and the bench.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { join, normalize } from 'node:path';
import { zipSync } from 'fflate';
import { type FileDef, type PackageDef, channelPackages, fileName, placeholderOf } from './conda-packages.js';

export { type FileDef, type PackageDef, LIBDEMO, MINIPIP, channelPackages, fileName, machinePython, placeholderOf, pythonPackage } from './conda-packages.js';

/** One entry of a hand-made tar: a file (with mode), or a symlink. */
export interface TarEntry {
  path: string;
  data?: string | Buffer;
  mode?: number;
  symlink?: string;
}

/**
 * A ustar archive written byte by byte, so that the tests can also make the archives a real
 * tool would refuse to create (`../` paths, links leaving the prefix).
 */
export function rawTar(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data ?? '');
    const h = Buffer.alloc(512);
    h.write(e.path, 0, 100, 'utf8');
    h.write(`${(e.mode ?? 0o644).toString(8).padStart(7, '0')}\0`, 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${(e.symlink !== undefined ? 0 : data.length).toString(8).padStart(11, '0')}\0`, 124);
    h.write(`${(1704067200).toString(8).padStart(11, '0')}\0`, 136); // 2024-01-01: the same bytes whenever the channel is built
    h.write('        ', 148);
    h.write(e.symlink !== undefined ? '2' : '0', 156);
    if (e.symlink !== undefined) h.write(e.symlink, 157, 100, 'utf8');
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(h);
    if (e.symlink === undefined && data.length) blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** A file's bytes as the package ships them: `@PREFIX@` stands for the build prefix, i.e. the placeholder. */
function content(p: PackageDef, f: FileDef): Buffer {
  const raw = Buffer.isBuffer(f.data) ? f.data : Buffer.from(f.data ?? '');
  const placeholder = Buffer.from(f.placeholder ?? placeholderOf(p));
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = raw.indexOf('@PREFIX@'); at !== -1; at = raw.indexOf('@PREFIX@', from)) {
    parts.push(raw.subarray(from, at), placeholder);
    from = at + '@PREFIX@'.length;
  }
  parts.push(raw.subarray(from));
  return Buffer.concat(parts);
}

/** The bytes of one of a package's files as its archive holds them (placeholder written in). */
export function packageFile(p: PackageDef, path: string): Buffer {
  const f = p.files.find((x) => x.path === path);
  if (!f) throw new Error(`${p.name} has no ${path}`);
  return content(p, f);
}

/** The record of a package in repodata.json and in its own info/index.json. */
export function indexRecord(p: PackageDef): Record<string, unknown> {
  const subdir = p.subdir ?? 'noarch';
  return {
    name: p.name,
    version: p.version,
    build: p.build ?? '0',
    build_number: p.buildNumber ?? 0,
    depends: p.depends ?? [],
    constrains: p.constrains ?? [],
    subdir,
    ...(subdir === 'noarch' ? { noarch: p.noarch ?? 'generic' } : { arch: 'x86_64', platform: 'linux' }),
    license: 'MIT',
    license_family: 'MIT',
    timestamp: 1704067200000,
    ...(p.pythonSitePackagesPath ? { python_site_packages_path: p.pythonSitePackagesPath } : {}),
  };
}

/** info/: index.json, paths.json (or the pre-paths.json info/files + info/has_prefix), link.json for entry points. */
function info(p: PackageDef): TarEntry[] {
  const out: TarEntry[] = [{ path: 'info/index.json', data: JSON.stringify(indexRecord(p), null, 2) }];
  const style = p.info ?? 'paths.json';
  if (style === 'has_prefix') {
    out.push({ path: 'info/files', data: `${p.files.map((f) => f.path).join('\n')}\n` });
    const lines = p.files.filter((f) => f.prefix).map((f) => (f.placeholder === '/opt/anaconda1anaconda2anaconda3' && f.prefix === 'text' ? f.path : `"${f.placeholder ?? placeholderOf(p)}" ${f.prefix} "${f.path}"`));
    if (lines.length) out.push({ path: 'info/has_prefix', data: `${lines.join('\n')}\n` });
  } else {
    const paths = p.files.map((f) => {
      if (f.symlink !== undefined) return { _path: f.path, path_type: 'softlink', sha256: createHash('sha256').update(f.symlink).digest('hex'), size_in_bytes: f.symlink.length };
      const bytes = content(p, f);
      return { _path: f.path, path_type: 'hardlink', sha256: createHash('sha256').update(bytes).digest('hex'), size_in_bytes: bytes.length, ...(f.prefix ? { file_mode: f.prefix, prefix_placeholder: f.placeholder ?? placeholderOf(p) } : {}) };
    });
    const text = JSON.stringify({ paths, paths_version: 1 }, null, 2);
    out.push({ path: 'info/paths.json', data: style === 'corrupt-paths.json' ? text.slice(0, Math.floor(text.length / 2)) : text });
  }
  if (p.entryPoints) out.push({ path: 'info/link.json', data: JSON.stringify({ noarch: { entry_points: p.entryPoints, type: 'python' }, package_metadata_version: 1 }, null, 2) });
  const override = p.infoOverride ?? {};
  return [...out.filter((e) => !(e.path in override)), ...Object.entries(override).map(([path, data]) => ({ path, data }))];
}

function compress(tool: 'bzip2' | 'zstd', data: Buffer): Buffer {
  return execFileSync(tool, tool === 'bzip2' ? ['-c'] : ['-c', '-q'], { input: data, maxBuffer: 64 << 20 });
}

/** The archive bytes of a package in its format (.tar.bz2: one tar; .conda: zip of info- and pkg- tar.zst). */
export function archive(p: PackageDef): Buffer {
  const files = p.files.map((f): TarEntry => (f.symlink !== undefined ? { path: f.path, symlink: f.symlink } : { path: f.path, mode: f.mode, data: content(p, f) }));
  if (p.format === 'tar.bz2') return compress('bzip2', rawTar([...info(p), ...files]));
  const base = `${p.name}-${p.version}-${p.build ?? '0'}`;
  const mtime = new Date('2024-01-01T00:00:00Z');
  return Buffer.from(
    zipSync(
      {
        'metadata.json': [Buffer.from(JSON.stringify({ conda_pkg_format_version: 2 })), { mtime }],
        [`info-${base}.tar.zst`]: [compress('zstd', rawTar(info(p))), { mtime }],
        [`pkg-${base}.tar.zst`]: [compress('zstd', rawTar(files)), { mtime }],
      },
      { level: 0 },
    ),
  );
}

export interface TestChannel {
  url: string;
  /** Requests for package archives so far (all, or of one file name). */
  downloads: (file?: string) => number;
  stop(): Promise<void>;
}

/** Writes the channel (archives + noarch/ and linux-64/ repodata.json) into `dir` and serves it on 127.0.0.1. */
export async function startChannel(dir: string, packages: PackageDef[] = channelPackages()): Promise<TestChannel> {
  const root = join(dir, 'channel');
  const repodata = new Map<string, { packages: Record<string, unknown>; 'packages.conda': Record<string, unknown> }>();
  for (const subdir of ['noarch', 'linux-64']) {
    mkdirSync(join(root, subdir), { recursive: true });
    repodata.set(subdir, { packages: {}, 'packages.conda': {} });
  }
  for (const p of packages) {
    const subdir = p.subdir ?? 'noarch';
    const bytes = archive(p);
    const record = { ...indexRecord(p), sha256: createHash('sha256').update(bytes).digest('hex'), md5: createHash('md5').update(bytes).digest('hex'), size: bytes.length };
    writeFileSync(join(root, subdir, fileName(p)), p.tamper ? Buffer.concat([bytes, Buffer.from('tampered')]) : bytes);
    repodata.get(subdir)![p.format === 'conda' ? 'packages.conda' : 'packages'][fileName(p)] = record;
  }
  for (const [subdir, r] of repodata) writeFileSync(join(root, subdir, 'repodata.json'), JSON.stringify({ info: { subdir }, ...r }));
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    if (/\.(tar\.bz2|conda)$/.test(path)) {
      const f = path.slice(path.lastIndexOf('/') + 1);
      counts.set(f, (counts.get(f) ?? 0) + 1);
    }
    try {
      const body = readFileSync(join(dir, path));
      res.writeHead(200, { 'content-length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/channel`,
    downloads: (file) => (file === undefined ? [...counts.values()].reduce((a, b) => a + b, 0) : (counts.get(file) ?? 0)),
    stop: () => new Promise((ok) => server.close(() => ok())),
  };
}
