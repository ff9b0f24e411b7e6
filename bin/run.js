#!/usr/bin/env node
// The `flow` command. CommonJS (bin/package.json): as an ES module it would make Node set up its
// ES module loader, which no read command needs (the CLI and the library it uses are one
// CommonJS bundle, dist/cli/flow.cjs, built by tools/build-cli.ts).
'use strict';
const { loadBundle } = require('./load-bundle.js');

// The AWS SDK warns on every process that newer SDK releases will need Node 22. flowrun pins its
// SDK version (README, "Sharing runs"), so the warning is noise in the middle of a push; a user
// who wants it can set the variable to false.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const path = require('node:path');
const root = path.join(__dirname, '..');
const early = require('./early-worker.js');
if (early.wantsEarlyWorker(process.argv.slice(2))) early.startEarlyWorker(path.join(root, 'dist', 'bundle', 'task', 'worker.js'));
loadBundle(path.join(root, 'dist', 'cli', 'flow.cjs'), cacheVariant(process.argv[2])).run(root);

/** The code cache a command line uses (bin/load-bundle.js): its command's, or one for everything else (--version, help, typos). */
function cacheVariant(word) {
  if (word === undefined || !/^[a-z][a-z0-9-]{0,39}$/.test(word)) return 'main';
  const commands = path.join(root, 'dist', 'commands');
  const fs = require('node:fs');
  return fs.existsSync(path.join(commands, `${word}.js`)) || fs.existsSync(path.join(commands, word)) ? word : 'main';
}
