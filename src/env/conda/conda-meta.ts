import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CondaLockEntry, archiveName, dist } from './lock.js';
import type { PackageIndex } from './package-info.js';
import type { PrefixPath } from './link.js';

/** What conda-meta/<name>-<version>-<build>.json holds for one installed package. */
export interface PrefixRecordInput {
  entry: CondaLockEntry;
  index: PackageIndex;
  archive: Buffer;
  /** Where the archive is kept (the shared package cache). */
  archivePath: string;
  paths: PrefixPath[];
  /** The match spec the user asked for that named this package, if any. */
  requestedSpec?: string;
}

/** Fields of index.json a conda-meta record repeats (conda copies the package's repodata record). */
const INDEX_FIELDS = ['arch', 'build_number', 'constrains', 'depends', 'features', 'license', 'license_family', 'noarch', 'platform', 'python_site_packages_path', 'subdir', 'timestamp', 'track_features'] as const;

/**
 * The record conda, mamba and micromamba read to list a prefix (`conda list -p`): the package's
 * repodata record (index.json + url, channel, fn, md5, sha256, size), the files it installed and
 * their `paths_data` (path type, placeholder, sha256 before and after relocation), and how it
 * was linked (copy: the files are the installer's own, not hard links into a shared cache).
 */
export function prefixRecord(r: PrefixRecordInput): Record<string, unknown> {
  const { entry, index } = r;
  const url = new URL(entry.url);
  const subdirAt = url.pathname.lastIndexOf('/', url.pathname.lastIndexOf('/') - 1);
  const channel = `${url.origin}${url.pathname.slice(0, subdirAt)}`;
  const record: Record<string, unknown> = { name: entry.name, version: entry.version, build: entry.build, build_string: entry.build };
  for (const f of INDEX_FIELDS) if (index[f] !== undefined && index[f] !== null) record[f] = index[f];
  record.depends ??= [];
  record.constrains ??= [];
  if (index.noarch === 'python') record.package_type = 'noarch_python';
  Object.assign(record, {
    channel,
    url: entry.url,
    fn: archiveName(entry),
    md5: createHash('md5').update(r.archive).digest('hex'),
    sha256: entry.sha256,
    size: r.archive.length,
    package_tarball_full_path: r.archivePath,
    files: r.paths.filter((p) => p.path_type !== 'directory').map((p) => p._path),
    paths_data: { paths_version: 1, paths: r.paths },
    link: { source: r.archivePath, type: 3 },
    requested_spec: r.requestedSpec ?? '',
  });
  return record;
}

/** Writes every record, then conda-meta/history: conda treats a directory as an environment only when that file exists. */
export function writeCondaMeta(prefix: string, records: PrefixRecordInput[], specs: string[], now = new Date()): void {
  const dir = join(prefix, 'conda-meta');
  mkdirSync(dir, { recursive: true });
  for (const r of records) writeFileSync(join(dir, `${dist(r.entry)}.json`), `${JSON.stringify(prefixRecord(r), null, 2)}\n`);
  const stamp = now.toISOString().replace('T', ' ').slice(0, 19);
  const added = records.map((r) => `+${prefixRecord(r).channel as string}/${r.index.subdir ?? 'noarch'}::${dist(r.entry)}`);
  writeFileSync(join(dir, 'history'), `==> ${stamp} <==\n# cmd: flowrun (lock install)\n${added.join('\n')}\n# update specs: ${JSON.stringify(specs)}\n`);
}
