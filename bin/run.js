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
if (early.wantsEarlyWorker(process.argv.slice(2))) early.startEarlyWorker(path.join(root, 'dist', 'bundle', 'task', 'worker.cjs'));
const cli = path.join(root, 'dist', 'cli');
const word = commandWord(process.argv[2]);
const ownBundle = word === undefined ? undefined : path.join(cli, `flow-${word}.cjs`);
const fs = require('node:fs');
if (ownBundle !== undefined && fs.existsSync(ownBundle)) {
  // The bundle of this command's word only (tools/build-cli.ts): oclif finds its commands where
  // package.json says they are, flow.cjs, so that name is given the one loaded.
  const bundle = loadBundle(ownBundle, word);
  const Module = require('node:module');
  const full = fs.realpathSync(path.join(cli, 'flow.cjs'));
  // Named by the file its code came from (a test's module probe reports that file).
  const alias = new Module(ownBundle, module);
  alias.filename = ownBundle;
  alias.exports = bundle;
  alias.loaded = true;
  require.cache[full] = alias;
  bundle.run(root);
} else {
  loadBundle(path.join(cli, 'flow.cjs'), 'main').run(root);
}

/**
 * The command line's first word if it can name a command ([a-z0-9-]); not a flag, path or typo
 * with other characters. Its bundle, if there is one, holds that word's commands; otherwise
 * (--version, help, an unknown word) the whole CLI is loaded, with a code cache shared by them all.
 */
function commandWord(word) {
  return word !== undefined && /^[a-z][a-z0-9-]{0,39}$/.test(word) && word !== 'help' ? word : undefined;
}
