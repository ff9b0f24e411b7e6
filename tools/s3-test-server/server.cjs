#!/usr/bin/env node
// A real S3-compatible server for flowrun's tests and benchmarks: s3rver 3.7.1 on 127.0.0.1,
// plus a small, clearly-named test layer in front of it that
//   1. implements the one precondition s3rver lacks: PutObject / CompleteMultipartUpload with
//      `If-None-Match: *` returns 412 when the key exists (AWS S3 does this since 2024), so the
//      run-id claim code path is exercised for real;
//   2. can inject faults (503s, dropped connections, delays) and counts requests, driven over
//      HTTP at /__test/* so a test can change them while a push is running.
// Usage: node --openssl-legacy-provider tools/s3-test-server/server.cjs [--port N] [--dir D]
// (s3rver's paginated listing uses DES for continuation tokens; Node 20 needs the legacy provider.)
// Prints `listening <port>` on stdout when ready.
'use strict';
const S3rver = require('s3rver');
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const args = process.argv.slice(2);
const arg = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const port = Number(arg('--port', '0'));
const directory = arg('--dir', '') || mkdtempSync(join(tmpdir(), 's3-test-server-'));

/** Fault settings; rates are probabilities per request (only S3 requests, never /__test). */
let faults = { rate503: 0, dropRate: 0, delayMs: 0, onlyMethods: null, noConditional: false };
/** Request counts by operation, e.g. "PUT", "GET", "HEAD", "LIST", "DELETE", "POST". */
let stats = {};

const locks = new Map();
async function withLock(key, fn) {
  const prev = locks.get(key) || Promise.resolve();
  let release;
  const mine = new Promise((r) => (release = r));
  const chained = prev.then(() => mine);
  locks.set(key, chained);
  await prev;
  try {
    return await fn();
  } finally {
    release();
    if (locks.get(key) === chained) locks.delete(key);
  }
}

function opName(ctx) {
  if (ctx.method === 'GET' && (ctx.query['list-type'] !== undefined || ctx.path.split('/').filter(Boolean).length <= 1)) return 'LIST';
  return ctx.method;
}

function control(ctx) {
  const op = ctx.path.slice('/__test/'.length);
  if (op === 'stats') { ctx.body = stats; return; }
  if (op === 'reset-stats') { stats = {}; ctx.body = {}; return; }
  if (op === 'faults') {
    const q = ctx.query;
    faults = {
      rate503: Number(q.rate503 || 0), dropRate: Number(q.dropRate || 0), delayMs: Number(q.delayMs || 0),
      onlyMethods: q.methods ? String(q.methods).split(',') : null,
      // Behave like a server without conditional writes (plain s3rver): If-None-Match is ignored.
      noConditional: q.noConditional === '1',
    };
    ctx.body = faults;
    return;
  }
  ctx.status = 404;
}

function testLayer(server) {
  return async (ctx, next) => {
    if (ctx.path.startsWith('/__test/')) return control(ctx);
    const op = opName(ctx);
    stats[op] = (stats[op] || 0) + 1;
    const eligible = !faults.onlyMethods || faults.onlyMethods.includes(op);
    if (eligible && faults.delayMs > 0) await new Promise((r) => setTimeout(r, faults.delayMs));
    if (eligible && Math.random() < faults.dropRate) { ctx.req.socket.destroy(); ctx.respond = false; return; }
    if (eligible && Math.random() < faults.rate503) {
      ctx.status = 503;
      ctx.type = 'application/xml';
      ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Injected by the test server</Message></Error>';
      return;
    }
    const inm = ctx.get('if-none-match');
    const isWrite = (ctx.method === 'PUT' && !('partNumber' in ctx.query)) || (ctx.method === 'POST' && 'uploadId' in ctx.query);
    if (!isWrite || inm !== '*' || faults.noConditional) return next();
    const [, bucket, ...rest] = ctx.path.split('/');
    const key = decodeURIComponent(rest.join('/'));
    if (!bucket || !key) return next();
    return withLock(`${bucket}/${key}`, async () => {
      if (await server.store.existsObject(bucket, key)) {
        ctx.status = 412;
        ctx.type = 'application/xml';
        ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>';
        return;
      }
      return next();
    });
  };
}

/**
 * s3rver 3.7.1 bug: a delimiter listing does not descend into directories below a would-be
 * common prefix, so `runs/a/b/c.json` never yields the common prefix `runs/a/` unless `runs/a/`
 * also holds a key directly. Fold a full listing into prefixes instead (unpaginated; test sizes).
 */
function fixDelimiterListing(store) {
  const original = store.listObjects.bind(store);
  store.listObjects = async (bucket, options) => {
    const { delimiter = '', prefix = '' } = options;
    if (!delimiter) return original(bucket, options);
    const all = await original(bucket, { ...options, delimiter: '', maxKeys: Infinity });
    const commonPrefixes = new Set();
    const objects = [];
    for (const object of all.objects) {
      const idx = object.key.slice(prefix.length).indexOf(delimiter);
      if (idx === -1) objects.push(object);
      else commonPrefixes.add(object.key.slice(0, prefix.length + idx + 1));
    }
    return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated: false };
  };
}

const server = new S3rver({ port, address: '127.0.0.1', directory, silent: true });
server.middleware.unshift(testLayer(server));
fixDelimiterListing(server.store);
server.run().then(({ port: bound }) => {
  process.stdout.write(`listening ${bound}\n`);
}, (err) => {
  process.stderr.write(`s3-test-server: ${err && err.message}\n`);
  process.exit(1);
});
// Exit with the parent (tests spawn it with an IPC channel).
process.on('disconnect', () => process.exit(0));
