import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** A real npm registry (verdaccio) on 127.0.0.1 with no uplinks, for installs without the internet (tests and bench). */
export interface TestRegistry {
  url: string;
  /** Publishes a tiny CommonJS package whose `version` export is its version. */
  publish(name: string, version: string): Promise<void>;
  /** Environment for a flow run against this registry, with its own npm and flowrun caches under `cacheDir`. */
  env(cacheDir: string): Record<string, string>;
  stop(): Promise<void>;
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
    srv.on('error', fail);
  });
}

/** Starts verdaccio from `repo`'s node_modules with its storage in `dir`. */
export async function startRegistry(dir: string, repo: string): Promise<TestRegistry> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'config.yaml'),
    [`storage: ${join(dir, 'storage')}`, 'auth:', '  htpasswd:', `    file: ${join(dir, 'htpasswd')}`, '    max_users: 10', 'uplinks: {}', 'packages:', "  '**':", '    access: $all', '    publish: $authenticated', 'log: { type: stdout, format: pretty, level: error }', ''].join('\n'),
  );
  const child: ChildProcess = spawn(process.execPath, [join(repo, 'node_modules', 'verdaccio', 'bin', 'verdaccio'), '-c', join(dir, 'config.yaml'), '-l', `127.0.0.1:${port}`], { stdio: 'ignore' });
  await waitUntilUp(url, child);
  const res = await fetch(`${url}-/user/org.couchdb.user:tester`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'tester', password: 'test-password' }) });
  const { token } = (await res.json()) as { token: string };
  const userconfig = join(dir, 'npmrc');
  writeFileSync(userconfig, `//127.0.0.1:${port}/:_authToken=${token}\n`);
  return {
    url,
    async publish(name, version) {
      const pkg = join(dir, 'packages', `${name}-${version}`);
      mkdirSync(pkg, { recursive: true });
      writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name, version, main: 'index.js', license: 'MIT' }));
      writeFileSync(join(pkg, 'index.js'), `module.exports = { name: ${JSON.stringify(name)}, version: ${JSON.stringify(version)} };\n`);
      await promisify(execFile)('npm', ['publish', '--registry', url, '--userconfig', userconfig, '--cache', join(dir, 'npm-cache')], { cwd: pkg });
    },
    env(cacheDir) {
      return { FLOW_CACHE_DIR: join(cacheDir, 'flowrun'), npm_config_registry: url, npm_config_cache: join(cacheDir, 'npm'), npm_config_fetch_retries: '0', npm_config_update_notifier: 'false' };
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill();
      await exited;
    },
  };
}

async function waitUntilUp(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}-/ping`)).ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`verdaccio did not start at ${url}`);
}
