#!/usr/bin/env node
import module from 'node:module';

// The AWS SDK warns on every process that newer SDK releases will need Node 22. flowrun pins its
// SDK version (README, "Sharing runs"), so the warning is noise in the middle of a push; a user
// who wants it can set the variable to false.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Node >= 22.1 keeps compiled code on disk between runs; Node 20 has no such cache (a no-op there).
module.enableCompileCache?.();

// One bundled file: oclif and the commands (tools/build-cli.ts, run by npm run build).
const { run } = module.createRequire(import.meta.url)('../dist/cli/flow.cjs');
await run(import.meta.url);
