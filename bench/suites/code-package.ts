import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { median, ms, type Section } from '../util.js';
import { buildCodePackage, extractCodePackage } from '../../src/package/code-package.js';
import { formatBytes as fmtBytes } from '../../src/util/bytes.js';

/** A project of `dirs` × `perDir` source-like files of about `size` bytes each; returns the root and the file list. */
function syntheticProject(dirs: number, perDir: number, size: number): { root: string; files: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'flowrun-bench-pkg-'));
  const files: string[] = [];
  for (let d = 0; d < dirs; d++) {
    mkdirSync(join(root, `src/mod${d}`), { recursive: true });
    for (let f = 0; f < perDir; f++) {
      const path = `src/mod${d}/file${f}.ts`;
      const lines: string[] = [];
      for (let i = 0; lines.join('\n').length < size; i++) lines.push(`export const v${i} = ${(d * 7919 + f * 104729 + i * 31) % 1000003}; // ${path}`);
      writeFileSync(join(root, path), `${lines.join('\n').slice(0, size)}\n`);
      files.push(path);
    }
  }
  return { root, files };
}

/** Issue 5 item 2: the deterministic code package (node-tar, sync, portable) of a 2,000-file project. */
export async function codePackage(): Promise<Section[]> {
  const { root, files } = syntheticProject(40, 50, 3500);
  const build: number[] = [];
  let pkg = buildCodePackage(root, files); // warm-up
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    pkg = buildCodePackage(root, files);
    build.push(performance.now() - t0);
  }
  const raw = pkg.files.reduce((a, f) => a + f.size, 0);
  const gz = gzipSync(pkg.tar).length;

  const extract: number[] = [];
  for (let i = 0; i < 5; i++) {
    const out = mkdtempSync(join(tmpdir(), 'flowrun-bench-unpack-'));
    const t0 = performance.now();
    extractCodePackage(pkg.tar, join(out, 'code'));
    extract.push(performance.now() - t0);
    rmSync(out, { recursive: true, force: true });
  }
  rmSync(root, { recursive: true, force: true });

  return [
    {
      title: 'Code package: deterministic tarball of a 2,000-file project',
      command: 'buildCodePackage() / extractCodePackage() in process on 40 dirs × 50 files of ~3.5 KB, median of 5 after a warm-up',
      rows: [
        { name: 'build (lstat + sorted node-tar pack, sync + sha256)', value: ms(median(build)), note: `min ${ms(Math.min(...build))}, max ${ms(Math.max(...build))}; ECOSYSTEM.md §7 measured 133–135 ms for a bare sync .tar` },
        { name: 'package size (uncompressed tar)', value: fmtBytes(pkg.bytes), note: `${pkg.files.length} files, ${fmtBytes(raw)} of content; gzip -6 would be ${fmtBytes(gz)}` },
        { name: 'extract (validate every entry, then unpack)', value: ms(median(extract)), note: `min ${ms(Math.min(...extract))}, max ${ms(Math.max(...extract))}` },
      ],
    },
  ];
}
