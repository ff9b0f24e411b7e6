#!/usr/bin/env node
// A real S3-compatible server for flowrun's tests and benchmarks: s3rver 3.7.1 on 127.0.0.1,
// plus a small, clearly-named test layer in front of it that
//   1. implements the preconditions s3rver lacks on PutObject / CompleteMultipartUpload, as AWS S3
//      does since 2024: `If-None-Match: *` returns 412 when the key exists (run-id claims), and
//      `If-Match: <etag>` returns 412 when the key is absent or has another ETag (the mirror's
//      run index is updated read-modify-write with it); both are serialized per key;
//   2. can inject faults (503s, dropped connections, delays) and counts requests, driven over
//      HTTP at /__test/* so a test can change them while a push is running.
// Usage: node --openssl-legacy-provider tools/s3-test-server/server.cjs [--port N] [--dir D]
// (s3rver's paginated listing uses DES for continuation tokens; Node 20 needs the legacy provider.)
// Prints `listening <port>` on stdout when ready.
'use strict';
const S3rver = require('s3rver');
const { createHash, randomBytes } = require('node:crypto');
const { mkdtempSync, promises: fsp } = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join } = require('node:path');
const { Readable } = require('node:stream');

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const port = Number(arg('--port', '0'));
const directory = arg('--dir', '') || mkdtempSync(join(tmpdir(), 's3-test-server-'));

/** Fault settings; rates are probabilities per request (only S3 requests, never /__test). */
let faults = { rate503: 0, dropRate: 0, delayMs: 0, onlyMethods: null, noConditional: false };
/** Request counts by operation, e.g. "PUT", "GET", "HEAD", "LIST", "DELETE", "POST". */
let stats = {};

const locks = new Map();
async function withLock(key, fn, table = locks) {
  const prev = table.get(key) || Promise.resolve();
  let release;
  const mine = new Promise((r) => (release = r));
  const chained = prev.then(() => mine);
  table.set(key, chained);
  await prev;
  try {
    return await fn();
  } finally {
    release();
    if (table.get(key) === chained) table.delete(key);
  }
}

function opName(ctx) {
  if (ctx.method === 'GET' && (ctx.query['list-type'] !== undefined || ctx.path.split('/').filter(Boolean).length <= 1)) return 'LIST';
  return ctx.method;
}

function control(ctx) {
  const op = ctx.path.slice('/__test/'.length);
  if (op === 'stats') {
    ctx.body = stats;
    return;
  }
  if (op === 'reset-stats') {
    stats = {};
    ctx.body = {};
    return;
  }
  if (op === 'faults') {
    const q = ctx.query;
    faults = {
      rate503: Number(q.rate503 || 0),
      dropRate: Number(q.dropRate || 0),
      delayMs: Number(q.delayMs || 0),
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
    if (eligible && Math.random() < faults.dropRate) {
      ctx.req.socket.destroy();
      ctx.respond = false;
      return;
    }
    if (eligible && Math.random() < faults.rate503) {
      ctx.status = 503;
      ctx.type = 'application/xml';
      ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Injected by the test server</Message></Error>';
      return;
    }
    const inm = ctx.get('if-none-match');
    const im = ctx.get('if-match');
    const isWrite = (ctx.method === 'PUT' && !('partNumber' in ctx.query)) || (ctx.method === 'POST' && 'uploadId' in ctx.query);
    if (!isWrite || (inm !== '*' && !im) || faults.noConditional) return next();
    const [, bucket, ...rest] = ctx.path.split('/');
    const key = decodeURIComponent(rest.join('/'));
    if (!bucket || !key) return next();
    return withLock(`${bucket}/${key}`, async () => {
      const exists = await server.store.existsObject(bucket, key);
      const etag = exists && im ? (await atomicMetadata(server.store, bucket, key)).etag : undefined;
      if ((inm === '*' && exists) || (im && (!exists || (im !== '*' && im !== etag)))) {
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
 * s3rver 3.7.1 writes an object over the old file in place, answers the PUT before the bytes are
 * on disk, and keeps the MD5 (the ETag) in a second file written after: a GET during a PUT can
 * see a torn object or the new bytes with the old ETag (so an If-Match write could succeed on a
 * version nobody read). AWS S3 replaces an object atomically. Here a PUT writes a temp file,
 * renames it into place and then the MD5, and a GET of an object up to 16 MiB reads its ETag and
 * bytes, all under one per-key lock (bigger objects, multipart uploads, are streamed as before).
 */
const objectLocks = new Map();
const ATOMIC_READ_MAX = 16 << 20;

function atomicMetadata(store, bucket, key) {
  return withLock(`${bucket}/${key}`, () => store.getMetadata(bucket, key), objectLocks);
}

function atomicObjects(store) {
  const getObject = store.getObject.bind(store);
  store.putObject = (object) =>
    withLock(
      `${object.bucket}/${object.key}`,
      async () => {
        const content = Buffer.isBuffer(object.content) ? object.content : await collect(object.content);
        const path = store.getResourcePath(object.bucket, object.key, 'object');
        await fsp.mkdir(dirname(path), { recursive: true });
        const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
        await fsp.writeFile(tmp, content);
        await fsp.rename(tmp, path);
        const md5 = createHash('md5').update(content).digest('hex');
        await store.putMetadata(object.bucket, object.key, object.metadata, md5);
        return { size: content.length, md5 };
      },
      objectLocks,
    );
  store.getObject = (bucket, key, options) =>
    withLock(
      `${bucket}/${key}`,
      async () => {
        const object = await getObject(bucket, key, options);
        if (object?.content && Number(object.metadata['content-length']) <= ATOMIC_READ_MAX) {
          object.content = Readable.from([await collect(object.content)]);
        }
        return object;
      },
      objectLocks,
    );
}

async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
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
atomicObjects(server.store);
server.run().then(
  ({ port: bound }) => {
    process.stdout.write(`listening ${bound}\n`);
  },
  (err) => {
    process.stderr.write(`s3-test-server: ${err?.message}\n`);
    process.exit(1);
  },
);
// Exit with the parent (tests spawn it with an IPC channel).
process.on('disconnect', () => process.exit(0));
