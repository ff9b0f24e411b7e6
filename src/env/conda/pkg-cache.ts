import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/fs-atomic.js';
import { envCacheRoot } from '../cache.js';

/**
 * One tier of the package cache: archives by the sha256 of their bytes. The local tier is a
 * directory shared by every environment on the machine; an S3 tier (for Batch containers)
 * implements the same three members. A tier may return wrong bytes (a damaged disk, a
 * tampered bucket): the cache verifies every hit and never trusts a tier's word.
 */
export interface PackageTier {
  /** For messages: where the tier keeps archives. */
  readonly location: string;
  get(sha256: string): Promise<Buffer | undefined>;
  put(sha256: string, bytes: Buffer): Promise<void>;
  /** Forgets an entry whose bytes did not match its key. */
  drop(sha256: string): Promise<void>;
}

/** Archives under `<dir>/<first 2 hex>/<sha256>`, written to a temp file and renamed (never partial). */
export class LocalPackageTier implements PackageTier {
  constructor(readonly location: string = join(envCacheRoot(), 'conda-pkgs')) {}
  /** Where the archive with this sha256 is (or would be) kept. */
  path(sha256: string): string {
    return join(this.location, sha256.slice(0, 2), sha256);
  }
  async get(sha256: string): Promise<Buffer | undefined> {
    try {
      return readFileSync(this.path(sha256));
    } catch {
      return undefined;
    }
  }
  async put(sha256: string, bytes: Buffer): Promise<void> {
    writeFileAtomic(this.path(sha256), bytes);
  }
  async drop(sha256: string): Promise<void> {
    rmSync(this.path(sha256), { force: true });
  }
}

export interface Fetched {
  bytes: Buffer;
  /** The tier that had it, or undefined when it was downloaded. */
  from?: string;
}

/**
 * Archives fetched once per machine: the tiers are asked in order; a hit whose sha256 does not
 * match is dropped and counts as a miss; a miss is downloaded (the caller checks nothing: the
 * bytes are verified here before any tier or extractor sees them) and written to every tier
 * that lacked it.
 */
export class PackageCache {
  constructor(private readonly tiers: PackageTier[] = [new LocalPackageTier()]) {}

  async fetch(sha256: string, download: () => Promise<Buffer>, mismatch: (actual: string) => Error): Promise<Fetched> {
    const missing: PackageTier[] = [];
    for (const tier of this.tiers) {
      const bytes = await tier.get(sha256);
      if (bytes && digest(bytes) === sha256) {
        await Promise.all(missing.map((t) => t.put(sha256, bytes)));
        return { bytes, from: tier.location };
      }
      if (bytes) await tier.drop(sha256);
      missing.push(tier);
    }
    const bytes = await download();
    const actual = digest(bytes);
    if (actual !== sha256) throw mismatch(actual);
    await Promise.all(missing.map((t) => t.put(sha256, bytes)));
    return { bytes };
  }
}

const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
