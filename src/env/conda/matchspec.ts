import type { CondaSpec } from './lock.js';

/** A bare version: what conda's `name=1.2` form turns into `1.2.*`. */
const BARE_VERSION = /^[0-9A-Za-z][0-9A-Za-z_.!+]*$/;
/** conda's `version=build` form (`1.26.4=py311h64a7726_0`), the version without operators. */
const VERSION_EQ_BUILD = /^(=?[0-9A-Za-z][0-9A-Za-z_.!+*]*)=([^=<>!~,|\s]+)$/;

/**
 * The match-spec text of one decorator value, read the way conda reads `name=value` (as in
 * `conda install python=3.11` and environment.yml): a bare version means that version and
 * its patch releases, so `'3.11'` is `3.11.*` and `'1.26.4'` is `1.26.4.*`; `'==3.11'` is
 * exactly 3.11; operators (`>=1.26,<2`, `1.26.*`, `!=1.0`, `|`) pass through. A build string
 * may follow after a space or `=` (`'1.26.* py311*'`, `'1.26.4=py311h64a7726_0'`); with a
 * build, a bare version is exact, as in conda. Returns undefined for no constraint ('' or '*').
 */
export function condaConstraint(value: string): string | undefined {
  let version = value.trim();
  if (version === '' || version === '*') return undefined;
  let build: string | undefined;
  const words = version.split(/\s+/);
  if (words.length === 2) [version, build] = words as [string, string];
  else if (words.length === 1) {
    const m = VERSION_EQ_BUILD.exec(version);
    if (m) [version, build] = [m[1]!, m[2]!];
  } else return value.trim(); // not a version [build] pair: the solver's parser says what is wrong
  if (version.startsWith('=') && !version.startsWith('==')) version = version.slice(1);
  if (BARE_VERSION.test(version)) version = build === undefined ? `${version}.*` : `==${version}`;
  return build === undefined ? version : `${version} ${build}`;
}

/** Match specs for the solver: `name constraint` per package (sorted by name), then python when asked for. */
export function matchSpecs(spec: CondaSpec): string[] {
  const one = (name: string, value: string) => {
    const c = condaConstraint(value);
    return c === undefined ? name : `${name} ${c}`;
  };
  const out = Object.entries(spec.packages).map(([name, value]) => one(name, value));
  if (spec.python !== undefined) out.push(one('python', spec.python));
  return out;
}
