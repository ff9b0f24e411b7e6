/**
 * What stays out of a run's snapshot (the code package and the dirty-tree patch), on top of
 * .gitignore: credentials files, the store itself when it lives inside the project (else every
 * package would contain the previous ones and double in size per run), and the user's
 * `codePackage.exclude` globs.
 *
 * Globs are relative to the project root and read like .gitignore lines: a pattern without
 * `/` matches a name at any depth (`*.sqlite`), one with `/` is anchored at the root
 * (`data/raw/**`, a leading `/` is allowed), a trailing `/` matches folders only, and a pattern
 * that matches a folder excludes everything in it. `!` negation is not supported.
 */
import { isAbsolute, relative, sep } from 'node:path';
import { Minimatch } from 'minimatch';
import { isSecretFile, readSmall } from './secret-files.js';

export type ExclusionReason = 'secret' | 'store' | 'excluded';

interface Pattern {
  matcher: Minimatch;
  dirOnly: boolean;
}

export class SnapshotFilter {
  private readonly patterns: Pattern[];
  /** The store folder relative to the project root, when it is inside the project. */
  readonly storeRel?: string;

  constructor(
    readonly projectRoot: string,
    opts: { store?: string; exclude?: readonly string[] } = {},
  ) {
    this.patterns = (opts.exclude ?? []).map((raw) => {
      const dirOnly = raw.endsWith('/');
      const trimmed = raw.replace(/\/+$/, '');
      const anchored = trimmed.includes('/'); // as in .gitignore, a leading or inner '/' anchors at the root
      const text = trimmed.replace(/^\/+/, '');
      return { dirOnly, matcher: new Minimatch(text, { dot: true, matchBase: !anchored, nonegate: true, nocomment: true }) };
    });
    if (opts.store && !opts.store.includes('://')) {
      const rel = relative(projectRoot, opts.store);
      if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) this.storeRel = rel.split(sep).join('/');
    }
  }

  /** Absolute folders not to look into at all (listing a large store would be slow). */
  get prunedDirs(): string[] {
    return this.storeRel === undefined ? [] : [`${this.projectRoot}${sep}${this.storeRel.split('/').join(sep)}`];
  }

  /** Why `rel` (POSIX, relative to the project root) stays out of the snapshot, or undefined. */
  reason(rel: string, abs: string): ExclusionReason | undefined {
    if (this.storeRel !== undefined && (rel === this.storeRel || rel.startsWith(`${this.storeRel}/`))) return 'store';
    if (this.patterns.length && this.userExcluded(rel)) return 'excluded';
    return isSecretFile(rel, readSmall(abs)) ? 'secret' : undefined;
  }

  /**
   * Whether an absolute path stays out of the snapshot. Outside the project root (a monorepo's
   * git patch covers the whole repository) only the credentials filter applies.
   */
  excludes(abs: string): boolean {
    const rel = relative(this.projectRoot, abs).split(sep).join('/');
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return isSecretFile(abs.split(sep).join('/'), readSmall(abs));
    return this.reason(rel, abs) !== undefined;
  }

  private userExcluded(rel: string): boolean {
    const segs = rel.split('/');
    for (let i = 1; i <= segs.length; i++) {
      const prefix = segs.slice(0, i).join('/');
      const isDir = i < segs.length;
      if (this.patterns.some((p) => (isDir || !p.dirOnly) && p.matcher.match(prefix))) return true;
    }
    return false;
  }
}
