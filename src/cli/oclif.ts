/**
 * The parts of @oclif/core that flowrun's commands use, imported by subpath. The CLI bundle
 * (tools/build-cli.ts) resolves `@oclif/core` to this module: the package's index also loads
 * every other part of oclif and checks the Node version with semver (~50 modules) on every start.
 * A command that needs more of oclif adds the export here.
 */
export { Command } from '@oclif/core/command';
export * as Args from '@oclif/core/args';
export * as Flags from '@oclif/core/flags';
export { execute } from '@oclif/core/execute';
export { settings } from '@oclif/core/settings';
// For @oclif/plugin-help's `help` command, bundled as one of flowrun's (tools/build-cli.ts).
export { loadHelpClass } from '@oclif/core/help';
