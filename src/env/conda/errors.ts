import { ExitCode, FlowError } from '../../errors/index.js';

/** Where an install error happened: the package (as conda prints it) and the steps whose env it is. */
export interface InstallContext {
  /** `name-version-build` */
  pkg: string;
  url: string;
  steps: string[];
}

/** A package that cannot be installed as its metadata says (corrupt or contradictory info/): exit 4. */
export function invalidPackage(c: InstallContext, what: string): FlowError {
  return new FlowError('ENV_PACKAGE_INVALID', `The conda package ${c.pkg} (${c.url}) cannot be installed for step ${c.steps.join(', ')}: ${what}. Nothing was installed.`, {
    exitCode: ExitCode.remote,
    step: c.steps[0],
    data: { package: c.pkg, url: c.url },
    fix: 'The package is broken on the channel: pick another version or build of it (or report it to the channel).',
  });
}
