import { ExitCode, FlowError } from '../../errors/index.js';
import { type CondaTarget, describeTarget } from './virtual.js';

/** A package's dependency on a virtual package (`__glibc >=2.17,<3.0.a0`), unmet by the target. */
export interface UnmetRequirement {
  pkg: string;
  requirement: string;
}

/**
 * The dependencies on virtual packages that the target does not meet. A lock solved on another
 * machine (a replay, a shared store) can need a newer glibc or a CUDA driver this one lacks:
 * better to say so before installing than to fail inside the step. Versions are compared with
 * rattler's conda version specs; a build spec is a glob on the build string.
 */
export async function unmetVirtualRequirements(packages: Array<{ pkg: string; depends: string[] }>, target: CondaTarget): Promise<UnmetRequirement[]> {
  const wanted = packages.flatMap((p) => p.depends.filter((d) => d.trim().startsWith('__')).map((d) => ({ pkg: p.pkg, requirement: d.trim() })));
  if (wanted.length === 0) return [];
  const { Version, VersionSpec } = await import('@conda-org/rattler');
  const have = new Map(target.virtualPackages.map((v) => [v.name, v]));
  return wanted.filter(({ requirement }) => {
    const [name, version, build] = requirement.split(/\s+/) as [string, string | undefined, string | undefined];
    const v = have.get(name);
    if (!v) return true;
    if (version !== undefined && version !== '*') {
      try {
        if (!new VersionSpec(version, 'lenient').matches(new Version(v.version))) return true;
      } catch {
        return true;
      }
    }
    return build !== undefined && !glob(build).test(v.build);
  });
}

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

export function unmetError(unmet: UnmetRequirement[], target: CondaTarget, steps: string[]): FlowError {
  const list = unmet.map((u) => `${u.pkg} needs ${u.requirement}`).join('; ');
  const first = /^__([a-z_]+)/.exec(unmet[0]!.requirement)?.[1] ?? 'glibc';
  return new FlowError('ENV_VIRTUAL_PACKAGE_MISSING', `The conda environment of step ${steps.join(', ')} cannot run on this machine, ${describeTarget(target)}: ${list}. Nothing was installed.`, {
    exitCode: ExitCode.remote,
    step: steps[0],
    data: { unmet },
    fix: `Run it on a machine that provides these (the lock was solved for one that does), or, if this one does and detection missed it, set CONDA_OVERRIDE_${first.toUpperCase()}.`,
  });
}
