import { execute, settings } from '@oclif/core';

/**
 * The CLI's entry, called by bin/run.js from the bundle dist/cli/flow.js (tools/build-cli.ts),
 * which also exports the commands (package.json oclif.commands, "explicit" discovery).
 */
export async function run(bin: string): Promise<void> {
  // The CLI runs compiled code only. Under NODE_ENV=development or test oclif would otherwise
  // read tsconfig.json and look for ts-node/tsx to run commands from sources.
  settings.enableAutoTranspile = false;
  await execute({ dir: bin });
}
