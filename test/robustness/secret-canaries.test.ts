import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { decodeObjectFile } from '../../src/store/local.js';
import { type CliResult, copyFlow, flow, tempDir, tempProject } from '../helpers/cli.js';
import { printFigures } from './figures.js';

// Part 5 of the robustness suite (issue #9): canary credentials in the environment, in a git
// remote URL and in an untracked .env file; run, fail, resume, replay, inspect, logs and diff;
// then every byte flowrun wrote (objects decompressed, records, the code package, logs, the
// environment cache, its own stdout/stderr) is searched for them. DESIGN §5: 0 hits. (A value a
// user's step prints or stores itself is the user's; this flow does neither.)

const CANARIES: Record<string, string> = {
  AWS_ACCESS_KEY_ID: 'AKIACANARY0000000001',
  AWS_SECRET_ACCESS_KEY: 'canary-aws-secret-7f3a9c1e',
  AWS_SESSION_TOKEN: 'canary-aws-session-2b8d4f6a',
  GITHUB_TOKEN: 'ghp_canaryGithubToken5e1c',
  DB_PASSWORD: 'canary-db-password-9a7b',
  MY_API_KEY: 'canary-my-api-key-3c5d',
  NPM_TOKEN: 'canary-npm-token-8e2f',
};
const REMOTE_TOKEN = 'ghp_canaryRemoteUrlToken4d2e';
const DOTENV_SECRET = 'canary-dotenv-value-6f1a';
/** A password with characters that end a URL's authority, in an S3 endpoint URL. */
const ENDPOINT_SECRET = 'canary/end#point?pw';
/** Credentials files of every kind the filter knows, written after the first run (untracked), each with its own canary. */
const FILE_CANARIES: Record<string, (canary: string) => string> = {
  '.envrc': (c) => `export TOKEN=${c}\n`,
  'config/prod.env': (c) => `TOKEN=${c}\n`,
  '.ENV': (c) => `TOKEN=${c}\n`,
  'credentials.json': (c) => JSON.stringify({ token: c }),
  'config/gcp-3f2a.json': (c) => JSON.stringify({ type: 'service_account', private_key_id: 'k1', private_key: `-----BEGIN PRIVATE KEY-----\n${c}\n-----END PRIVATE KEY-----\n` }),
  '.ssh/id_ed25519': (c) => `-----BEGIN OPENSSH PRIVATE KEY-----\n${c}\n`,
  '.docker/config.json': (c) => JSON.stringify({ auths: { 'r.example.com': { auth: c } } }),
  '.vault-token': (c) => c,
  '.pypirc': (c) => `[pypi]\npassword = ${c}\n`,
  '.kube/config': (c) => `users:\n- user:\n    token: ${c}\n`,
  'tls/server.key': (c) => c,
  '.yarnrc.yml': (c) => `npmAuthToken: "${c}"\n`,
};
const fileCanary = (path: string) => `canary-file-${path.replace(/[^a-z0-9]/gi, '-')}`;
const TRACKED_NPMRC_TOKEN = 'npm_canaryTrackedNpmrc7c3b';

/** Every file under `dir`; store objects are decoded (decompressed) before searching. */
function bytesUnder(dir: string): Array<{ path: string; bytes: Buffer }> {
  const out: Array<{ path: string; bytes: Buffer }> = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) {
        walk(p);
        continue;
      }
      let bytes: Buffer = readFileSync(p);
      if (/\/objects\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(p)) bytes = decodeObjectFile(bytes, name, p);
      out.push({ path: p, bytes });
    }
  };
  walk(dir);
  return out;
}

describe('secret canaries', () => {
  it('no canary credential appears in anything flowrun wrote', async () => {
    const dir = await tempProject();
    copyFlow(dir, 'uses-secrets.ts');
    await execa('git', ['remote', 'add', 'origin', `https://x-access-token:${REMOTE_TOKEN}@github.com/acme/flows.git`], { cwd: dir });
    writeFileSync(join(dir, '.npmrc'), 'registry=https://registry.npmjs.org/\n'); // tracked, no token yet
    await execa('git', ['add', '-A'], { cwd: dir });
    await execa('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=test', 'commit', '-qm', 'flow'], { cwd: dir });
    writeFileSync(join(dir, '.env'), `DB_PASSWORD=${DOTENV_SECRET}\n`); // untracked, not ignored
    writeFileSync(join(dir, '.env.example'), 'DB_PASSWORD=\n'); // a template: packaged as usual
    const cache = tempDir('flowrun-cache-');
    const env = { ...CANARIES, FLOW_CACHE_DIR: cache };
    const outputs: CliResult[] = [];
    const cli = async (args: string[], extra: Record<string, string> = {}) => {
      const r = await flow(args, { cwd: dir, env: { ...env, ...extra } });
      outputs.push(r);
      return r;
    };

    const ok = await cli(['run', 'flows/uses-secrets.ts', '--max-workers', '2']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/warning: not packaged, they look like secrets files: \.env\. /);
    // Every other kind of credentials file, untracked; and a token added to the tracked .npmrc (an uncommitted change).
    for (const [path, content] of Object.entries(FILE_CANARIES)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content(fileCanary(path)));
    }
    writeFileSync(join(dir, '.npmrc'), `registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=${TRACKED_NPMRC_TOKEN}\n`);
    const failed = await cli(['run', 'flows/uses-secrets.ts', '--max-workers', '2'], { FAIL_PART: '2' });
    expect(failed.exitCode).toBe(1);
    const resumed = await cli(['resume', 'flows/uses-secrets.ts']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const replay = await cli(['replay', 'run-1', '--max-workers', '2']);
    expect(replay.exitCode, replay.stdout + replay.stderr).toBe(0);
    // .env, the tracked .npmrc (it holds a token now) and every file above.
    expect(failed.stderr).toMatch(new RegExp(`warning: not packaged, they look like secrets files: .*… \\(${2 + Object.keys(FILE_CANARIES).length}\\)`));
    // An endpoint URL with credentials in it (not even a valid URL, with its '#' and '?'): the error must not echo them.
    const remote = await cli(['runs', '--remote'], { FLOW_MIRROR_URL: 's3://canary-bucket/p', FLOW_S3_ENDPOINT: `http://AKIACANARY0000000001:${ENDPOINT_SECRET}@127.0.0.1:9` });
    expect(remote.exitCode, remote.stderr).toBe(4);
    expect(remote.stderr).toContain('endpoint http://***@127.0.0.1:9');
    for (const args of [
      ['inspect', 'run-2'],
      ['logs', 'run-2/work'],
      ['diff', 'run-1', 'run-2', '--code'],
      ['runs', '--json'],
      ['code', 'run-2'],
      ['code', 'run-1'],
      ['get', 'run-1', 'keyLength'],
    ])
      await cli(args);
    expect(outputs.at(-1)!.stdout.trim()).toBe(String(CANARIES.MY_API_KEY!.length)); // the flow did see its key
    expect(outputs.at(-2)!.stdout).toContain('.env.example');
    expect(outputs.at(-2)!.stdout).not.toMatch(/^\.env$/m);

    const files = [...bytesUnder(join(dir, '.flow')), ...bytesUnder(cache)];
    const texts = [...files.map((f) => ({ where: f.path, text: f.bytes.toString('latin1') })), ...outputs.map((o, i) => ({ where: `cli output ${i}`, text: o.stdout + o.stderr }))];
    const secrets = [...Object.values(CANARIES), REMOTE_TOKEN, DOTENV_SECRET, ENDPOINT_SECRET, 'canary/end', TRACKED_NPMRC_TOKEN, ...Object.keys(FILE_CANARIES).map(fileCanary)];
    const hits = texts.flatMap((t) => secrets.filter((s) => t.text.includes(s)).map((s) => `${s} in ${t.where}`));
    const bytes = files.reduce((n, f) => n + f.bytes.length, 0) + outputs.reduce((n, o) => n + o.stdout.length + o.stderr.length, 0);
    printFigures('secret canaries (run, failed run, resume, replay, inspect, logs, diff, runs, runs --remote, code, get)', [
      ['credentials files (kinds)', 2 + Object.keys(FILE_CANARIES).length],
      ['canary values', secrets.length],
      ['files searched (objects decompressed)', files.length],
      ['bytes searched', bytes],
      ['canary hits', hits.length],
    ]);
    expect(hits).toEqual([]);
  }, 180_000);
});
