/** A tiny conda channel served on 127.0.0.1, built from real archives: shared by the tests and the bench. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { join, normalize } from 'node:path';
import { zipSync } from 'fflate';

/** One entry of a hand-made tar: a file (with mode), a directory or a symlink. */
interface TarEntry { path: string; data?: string; mode?: number; symlink?: string }

/**
 * A ustar archive written byte by byte, so that the tests can also make the archives a real
 * tool would refuse to create (`../` paths, links leaving the prefix).
 */
export function rawTar(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const h = Buffer.alloc(512);
    h.write(e.path, 0, 100, 'utf8');
    h.write(`${(e.mode ?? 0o644).toString(8).padStart(7, '0')}\0`, 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${(e.symlink !== undefined ? 0 : data.length).toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
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

interface PackageDef { name: string; version: string; format: 'tar.bz2' | 'conda'; files: TarEntry[]; tamper?: boolean }

/** A conda package's info/ files and its content, as tar entries. */
function info(p: PackageDef): TarEntry[] {
  const index = { name: p.name, version: p.version, build: '0', build_number: 0, depends: [], subdir: 'noarch', noarch: 'generic', license: 'MIT' };
  const paths = { paths_version: 1, paths: p.files.filter((f) => f.symlink === undefined).map((f) => ({ _path: f.path, path_type: 'hardlink', sha256: createHash('sha256').update(f.data ?? '').digest('hex'), size_in_bytes: Buffer.byteLength(f.data ?? '') })) };
  return [{ path: 'info/index.json', data: JSON.stringify(index) }, { path: 'info/paths.json', data: JSON.stringify(paths) }];
}

function compress(tool: 'bzip2' | 'zstd', data: Buffer): Buffer {
  return execFileSync(tool, tool === 'bzip2' ? ['-c'] : ['-c', '-q'], { input: data, maxBuffer: 64 << 20 });
}

/** The archive bytes of a package in its format (.tar.bz2: one tar; .conda: zip of info- and pkg- tar.zst). */
function archive(p: PackageDef): Buffer {
  if (p.format === 'tar.bz2') return compress('bzip2', rawTar([...info(p), ...p.files]));
  const base = `${p.name}-${p.version}-0`;
  return Buffer.from(zipSync({
    'metadata.json': Buffer.from(JSON.stringify({ conda_pkg_format_version: 2 })),
    [`info-${base}.tar.zst`]: compress('zstd', rawTar(info(p))),
    [`pkg-${base}.tar.zst`]: compress('zstd', rawTar(p.files)),
  }, { level: 0 }));
}

const script = (text: string): TarEntry => ({ path: 'bin/hello', mode: 0o755, data: `#!/bin/sh\necho "${text}"\n` });

/** The packages of the test channel: hello 1.0 (.tar.bz2) and 2.0 (.conda), a tampered one, and two unsafe ones. */
export const CHANNEL_PACKAGES: PackageDef[] = [
  { name: 'hello', version: '1.0', format: 'tar.bz2', files: [script('hello 1.0'), { path: 'share/hello/README', data: 'hello' }, { path: 'bin/hi', symlink: 'hello' }] },
  { name: 'hello', version: '2.0', format: 'conda', files: [script('hello 2.0')] },
  { name: 'tampered', version: '1.0', format: 'tar.bz2', tamper: true, files: [script('tampered')] },
  { name: 'traversal', version: '1.0', format: 'tar.bz2', files: [script('ok'), { path: '../../escaped.txt', data: 'outside' }] },
  { name: 'badlink', version: '1.0', format: 'tar.bz2', files: [{ path: 'bin/passwd', symlink: '../../../../../../etc/passwd' }] },
];

export interface TestChannel {
  url: string;
  /** Requests for package archives so far. */
  downloads: () => number;
  stop(): Promise<void>;
}

/** Writes the channel (archives + noarch/repodata.json, empty linux-64) into `dir` and serves it on 127.0.0.1. */
export async function startChannel(dir: string): Promise<TestChannel> {
  const root = join(dir, 'channel');
  mkdirSync(join(root, 'noarch'), { recursive: true });
  mkdirSync(join(root, 'linux-64'), { recursive: true });
  const packages: Record<string, unknown> = {};
  const condaPackages: Record<string, unknown> = {};
  for (const p of CHANNEL_PACKAGES) {
    const file = `${p.name}-${p.version}-0.${p.format}`;
    const bytes = archive(p);
    const record = {
      name: p.name, version: p.version, build: '0', build_number: 0, depends: [], subdir: 'noarch', noarch: 'generic', license: 'MIT',
      sha256: createHash('sha256').update(bytes).digest('hex'), md5: createHash('md5').update(bytes).digest('hex'), size: bytes.length,
    };
    writeFileSync(join(root, 'noarch', file), p.tamper ? Buffer.concat([bytes, Buffer.from('tampered')]) : bytes);
    (p.format === 'conda' ? condaPackages : packages)[file] = record;
  }
  writeFileSync(join(root, 'noarch', 'repodata.json'), JSON.stringify({ info: { subdir: 'noarch' }, packages, 'packages.conda': condaPackages }));
  writeFileSync(join(root, 'linux-64', 'repodata.json'), JSON.stringify({ info: { subdir: 'linux-64' }, packages: {}, 'packages.conda': {} }));
  let downloads = 0;
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    if (/\.(tar\.bz2|conda)$/.test(path)) downloads++;
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
    downloads: () => downloads,
    stop: () => new Promise((ok) => server.close(() => ok())),
  };
}
