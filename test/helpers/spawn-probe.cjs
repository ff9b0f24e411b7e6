// Preloaded into the CLI (node -r): appends to $FLOW_TRACE, in the order they happen, every
// process the CLI starts ("spawn <pid> <file> <args as JSON>") and its read of the CLI bundle
// (flow.cjs or its command's flow-WORD.cjs: "bundle"). Every spawn from Node (spawn, execFile, fork) goes through ChildProcess#spawn.
'use strict';
const fs = require('node:fs');
const { ChildProcess } = require('node:child_process');

const out = process.env.FLOW_TRACE;
const write = (line) => fs.appendFileSync(out, `${line}\n`);
const spawn = ChildProcess.prototype.spawn;
ChildProcess.prototype.spawn = function probedSpawn(options) {
  const r = spawn.call(this, options);
  write(`spawn ${this.pid} ${options.file} ${JSON.stringify(options.args.slice(1))}`);
  return r;
};
const readFileSync = fs.readFileSync;
fs.readFileSync = function probedRead(file, ...rest) {
  if (typeof file === 'string' && /\/dist\/cli\/flow(-[a-z0-9-]+)?\.cjs$/.test(file)) write('bundle');
  return readFileSync.call(this, file, ...rest);
};
