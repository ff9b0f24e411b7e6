import { execute, settings } from '@oclif/core';

/**
 * The CLI's entry, called by bin/run.js from the bundle dist/cli/flow.cjs (tools/build-cli.ts),
 * which also exports the commands (package.json oclif.commands, "explicit" discovery).
 * `root` is the package's directory (oclif reads its package.json and manifest).
 */
export async function run(root: string): Promise<void> {
  // The CLI runs compiled code only. Under NODE_ENV=development or test oclif would otherwise
  // read tsconfig.json and look for ts-node/tsx to run commands from sources.
  settings.enableAutoTranspile = false;
  await execute({ dir: root });
}
