/**
 * @conda environments: solve (rattler, with the target's virtual packages), lock (URL + sha256
 * per package, for one platform), and install like conda (package cache, relocation, noarch
 * python, entry points, conda-meta). The parts live in ./conda/; this is what the rest of
 * flowrun uses.
 */
export { type CondaLock, type CondaLockEntry, type CondaSpec, DEFAULT_CHANNELS, condaLockedPackages, condaPlatform, describeCondaSpec, parseCondaLock } from './conda/lock.js';
export { condaConstraint, matchSpecs } from './conda/matchspec.js';
export { resolveCondaLock } from './conda/solve.js';
export { type InstallCondaOptions, installCondaLock } from './conda/install.js';
export { type CondaTarget, type VirtualPackage, REMOTE_DEFAULTS, hostTarget, remoteTarget } from './conda/virtual.js';
export { LocalPackageTier, PackageCache, type PackageTier } from './conda/pkg-cache.js';
