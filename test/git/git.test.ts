import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FlowError } from '../../src/errors/index.js';
import { captureGit, listProjectFiles, stripCredentials, type GitImpl, type GitState } from '../../src/git/git.js';
import { applyPatch } from '../helpers/apply-patch.js';
import { remoteFailure } from '../../src/store/s3-errors.js';
import type { S3Location } from '../../src/store/s3-location.js';
import { redactUrl, redactUrlsIn } from '../../src/util/url-credentials.js';

const IMPLS: GitImpl[] = ['cli', 'isomorphic'];
const temps: string[] = [];

afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function tmp(prefix = 'flowrun-git-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

/** Test setup runs git with a clean env: an inherited GIT_DIR (tests run from a hook) would hit the wrong repo. */
function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C' };
  for (const k of Object.keys(env)) if (k.startsWith('GIT_') && !['GIT_CONFIG_NOSYSTEM', 'GIT_CONFIG_GLOBAL'].includes(k)) delete env[k];
  return env;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=test', '-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false', '-c', 'protocol.file.allow=always', ...args], {
    cwd,
    env: gitEnv(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

function write(root: string, rel: string, content: string | Buffer): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), content);
}

function repoWith(files: Record<string, string | Buffer>, commit = true): string {
  const dir = tmp();
  git(dir, 'init', '-q');
  for (const [p, c] of Object.entries(files)) write(dir, p, c);
  if (commit) {
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'initial');
  }
  return dir;
}

/** Every file under dir as type + mode + sha256, skipping .git and the given top-level names/paths. */
function snapshot(dir: string, skip: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (rel: string) => {
    for (const e of readdirSync(rel ? join(dir, rel) : dir, { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.name === '.git' || skip.includes(p)) continue;
      const full = join(dir, p);
      if (e.isDirectory()) visit(p);
      else if (e.isSymbolicLink()) out[p] = `link ${readlinkSync(full)}`;
      else out[p] = `file ${lstatSync(full).mode & 0o100 ? 'x' : '-'} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`;
    }
  };
  visit('');
  return out;
}

/** A clean tree of the recorded commit (git archive), with the recorded patch applied. */
async function rebuild(repo: string, state: GitState, applyImpl: GitImpl): Promise<string> {
  const out = tmp('flowrun-rebuild-');
  if (state.commit) {
    const tar = join(tmp('flowrun-tar-'), 'c.tar');
    git(repo, 'archive', '--format=tar', '-o', tar, state.commit);
    execFileSync('tar', ['-xf', tar, '-C', out]);
  }
  if (state.patch) await applyPatch(out, state.patch, { impl: applyImpl });
  return out;
}

function randomish(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe('stripCredentials', () => {
  it.each([
    ['https://token@github.com/o/r.git', 'https://github.com/o/r.git'],
    ['https://user:pass@github.com/o/r.git', 'https://github.com/o/r.git'],
    ['https://user:p%40ss@host:8443/o/r', 'https://host:8443/o/r'],
    ['https://x-access-token:ghp_abc@github.com', 'https://github.com'],
    ['https://github.com/o/r.git?token=abc', 'https://github.com/o/r.git'],
    ['https://u:t@host/r.git?private_token=x#frag', 'https://host/r.git'],
    ['http://a:b@c@host/r', 'http://host/r'],
    ['ssh://git@github.com/o/r.git', 'ssh://git@github.com/o/r.git'],
    ['ssh://git:secret@github.com/o/r.git', 'ssh://git@github.com/o/r.git'],
    ['git@github.com:o/r.git', 'git@github.com:o/r.git'],
    ['git:secret@github.com:o/r.git', 'git@github.com:o/r.git'],
    ['file:///srv/repos/r.git', 'file:///srv/repos/r.git'],
    ['/srv/repos/r.git', '/srv/repos/r.git'],
    ['../sibling', '../sibling'],
    // Passwords with characters that end a URL's authority: none of them may survive as a "path".
    ['https://user:pa/ss@host/o/r.git', 'https://host/o/r.git'],
    ['https://user:pa#ss@host/o/r.git', 'https://host/o/r.git'],
    ['https://user:pa?ss@host/o/r.git', 'https://host/o/r.git'],
    ['https://user:p@ss@host/o/r.git', 'https://host/o/r.git'],
    ['https://user:a/b#c?d@e@host:8443/o/r.git?x=1#y', 'https://host:8443/o/r.git'],
    ['https://AKIA:wJalr/K7MDENG/bPxRfi+CY@git-codecommit.us-east-1.amazonaws.com/v1/repos/r', 'https://git-codecommit.us-east-1.amazonaws.com/v1/repos/r'],
    ['ssh://git:s/e#c?r@t@github.com/o/r.git', 'ssh://git@github.com/o/r.git'],
    ['git:s/e#c@ret@github.com:o/r.git', 'git@github.com:o/r.git'],
    ['https://[::1]:8080/o/r.git', 'https://[::1]:8080/o/r.git'],
    ['https://u:p/w@[::1]:8080/o/r.git', 'https://[::1]:8080/o/r.git'],
    // An '@' in the path is not userinfo.
    ['https://host/@scope/pkg.git', 'https://host/@scope/pkg.git'],
    ['https://host/o/r@v1.git', 'https://host/o/r@v1.git'],
  ])('%s → %s', (input, expected) => {
    expect(stripCredentials(input)).toBe(expected);
  });

  it('never leaves any part of a password with /, #, ? or @ in the result', () => {
    const chars = ['/', '#', '?', '@', ':', '%40'];
    for (const a of chars)
      for (const b of chars) {
        const password = `SECRET${a}part${b}TAIL`;
        for (const url of [`https://user:${password}@host.example/o/r.git`, `ssh://git:${password}@host.example/o/r.git`, `git:${password}@host.example:o/r.git`]) {
          const out = stripCredentials(url);
          expect(out, url).not.toMatch(/SECRET|part|TAIL/);
          expect(out, url).toContain('host.example');
        }
      }
  });
});

describe('credentials in error messages', () => {
  it('redactUrl and every FlowError hide the userinfo and credential-like query values of URLs', () => {
    expect(redactUrl('http://AKIAX:s3cr3t/x#y@minio.local:9000/bucket?X-Amz-Signature=abc')).toBe('http://***@minio.local:9000/bucket?…');
    expect(redactUrl('http://127.0.0.1:9000')).toBe('http://127.0.0.1:9000');
    expect(redactUrl('.flow')).toBe('.flow');
    const e = new FlowError('REMOTE_UNREACHABLE', 'Cannot reach s3://b/p (endpoint http://AKIAX:s3cr3t/x#y@minio.local:9000, region r); push failed: connect to https://u:tok@h/x?access_token=tok2&a=1 failed.', {
      fix: 'Check FLOW_S3_ENDPOINT=http://k:s3cr3t@minio.local:9000 and the network.',
    });
    expect(e.message).not.toMatch(/s3cr3t|AKIAX|tok\b|tok2/);
    expect(e.message).toContain('http://***@minio.local:9000,');
    expect(e.message).toContain('access_token=***&a=1');
    expect(e.fix).not.toContain('s3cr3t');
    expect(redactUrlsIn('see https://registry.npmjs.org/@scope/pkg for details')).toBe('see https://registry.npmjs.org/@scope/pkg for details');
  });

  it('an S3 failure names the endpoint without its credentials, in the message and in --json data', () => {
    const loc = { bucket: 'b', prefix: 'p/', endpoint: 'http://AKIAX:s3cr3t/x@127.0.0.1:1', region: 'us-east-1', forcePathStyle: true } as unknown as S3Location;
    const err = remoteFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), loc, 'push') as FlowError;
    expect(err.code).toBe('REMOTE_UNREACHABLE');
    expect(JSON.stringify(err.toJSON())).not.toMatch(/s3cr3t|AKIAX/);
    expect(err.message).toContain('127.0.0.1:1');
  });
});

describe('captureGit', () => {
  it('returns null outside a git repo (both impls), and lists files by walking', async () => {
    const dir = tmp();
    // Precondition: the temp dir itself must not sit inside some repository.
    expect(() => git(dir, 'rev-parse', '--git-dir')).toThrow();
    write(dir, 'a.ts', 'x');
    write(dir, 'node_modules/m/index.js', 'x');
    write(dir, '.flow/objects/ab', 'x');
    write(dir, 'sub/b.ts', 'y');
    for (const impl of IMPLS) {
      expect(await captureGit(dir, { impl })).toBeNull();
      expect(await listProjectFiles(dir, { impl })).toEqual(['a.ts', 'sub/b.ts']);
    }
    expect(await captureGit(dir)).toBeNull();
  });

  it('records a clean repo identically with both impls', async () => {
    const repo = repoWith({ 'a.ts': 'export const a = 1;\n', 'dir/b.ts': 'b\n', '.gitignore': 'dist/\n' });
    write(repo, 'dist/out.js', 'ignored');
    const head = git(repo, 'rev-parse', 'HEAD');
    for (const impl of IMPLS) {
      const s = await captureGit(repo, { impl });
      expect(s).toEqual({ commit: head, branch: 'main', dirty: false, remotes: {}, shallow: false, detached: false, untracked: [] });
    }
  });

  it('records modified, deleted, untracked (not ignored) files; the patch rebuilds the dirty tree byte for byte', async () => {
    const bigBinary = randomish(20_000, 7);
    bigBinary[100] = 0;
    const repo = repoWith({
      '.gitignore': '*.log\nbuild/\nsecret.env\n',
      'src/a.ts': Array.from({ length: 60 }, (_, i) => `line ${i}\n`).join(''),
      'src/b.ts': 'to be deleted\n',
      'src/crlf.txt': 'one\r\ntwo\r\nthree\r\n',
      'src/noeol.txt': 'no newline at end',
      'src/latin1.txt': Buffer.from('caf\xe9 cr\xe8me\nline 2\n', 'latin1'),
      'src/latin1-deleted.txt': Buffer.from('na\xefve\n', 'latin1'),
      'data/model.bin': bigBinary,
      'data/small.bin': Buffer.from([0, 1, 2, 3]),
      'bin/tool.sh': '#!/bin/sh\necho hi\n',
      'sp ace/ünï cödé.ts': 'const x = 1;\n',
      'dir/empty-after.txt': 'will become empty\n',
      'gone/only.txt': 'whole dir deleted\n',
      'link-to-a': '',
    });
    // A tracked symlink, replaced below by a regular file.
    unlinkSync(join(repo, 'link-to-a'));
    symlinkSync('src/a.ts', join(repo, 'link-to-a'));
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'with link');
    const head = git(repo, 'rev-parse', 'HEAD');

    // Tracked modifications of every kind.
    write(repo, 'src/a.ts', `${readFileSync(join(repo, 'src/a.ts'), 'utf8').replace('line 30\n', 'LINE THIRTY\n')}appended\n`);
    rmSync(join(repo, 'src/b.ts'));
    rmSync(join(repo, 'src/latin1-deleted.txt'));
    write(repo, 'src/crlf.txt', 'one\r\nTWO\r\nthree\r\n');
    write(repo, 'src/noeol.txt', 'still no newline, changed');
    write(repo, 'src/latin1.txt', Buffer.from('caf\xe9 cr\xe8me br\xfbl\xe9e\nline 2\n', 'latin1'));
    const changed = Buffer.from(bigBinary);
    changed.write('patched!', 5000);
    write(repo, 'data/model.bin', changed); // git writes a binary delta for this one
    write(repo, 'data/small.bin', Buffer.from([0, 9, 9]));
    chmodSync(join(repo, 'bin/tool.sh'), 0o755);
    write(repo, 'sp ace/ünï cödé.ts', 'const x = 2;\n');
    write(repo, 'dir/empty-after.txt', '');
    rmSync(join(repo, 'gone'), { recursive: true });
    unlinkSync(join(repo, 'link-to-a'));
    write(repo, 'link-to-a', 'now a file\n');
    // Staged new file.
    write(repo, 'src/staged.ts', 'staged\n');
    git(repo, 'add', 'src/staged.ts');
    // Untracked, not ignored.
    write(repo, 'notes/new file ü.md', '# untracked content here\n');
    write(repo, 'notes/tab\there.txt', 'a name with a tab\n');
    write(repo, 'untracked.bin', Buffer.from([0, 255, 0, 128]));
    write(repo, 'empty-untracked', '');
    write(repo, 'run.sh', '#!/bin/sh\n');
    chmodSync(join(repo, 'run.sh'), 0o755);
    symlinkSync('src/a.ts', join(repo, 'untracked-link'));
    // Ignored, and excluded by flowrun (store, deps) although not ignored.
    write(repo, 'debug.log', 'IGNORED-LOG-CONTENT');
    write(repo, 'build/out.js', 'IGNORED-BUILD-CONTENT');
    write(repo, 'secret.env', 'IGNORED-SECRET');
    write(repo, '.flow/objects/x', 'STORE-CONTENT');
    write(repo, 'node_modules/dep/index.js', 'DEP-CONTENT');

    const expectedUntracked = ['empty-untracked', 'notes/new file ü.md', 'notes/tab\there.txt', 'run.sh', 'untracked-link', 'untracked.bin'];
    const dirtyTree = snapshot(repo, ['debug.log', 'build', 'secret.env', '.flow', 'node_modules']);
    const states: Record<string, GitState> = {};
    for (const impl of IMPLS) {
      const s = (await captureGit(repo, { impl }))!;
      states[impl] = s;
      expect(s.commit).toBe(head);
      expect(s.branch).toBe('main');
      expect(s.dirty).toBe(true);
      expect(s.untracked).toEqual(expectedUntracked);
      const patch = s.patch!;
      expect(patch).toContain('+LINE THIRTY');
      expect(patch).toContain('+++ b/sp ace/ünï cödé.ts\t');
      expect(patch).toContain('+# untracked content here');
      expect(patch).toContain('deleted file mode 100644');
      expect(patch).toContain('GIT binary patch');
      expect(patch).toMatch(/old mode 100644\nnew mode 100755/);
      for (const secret of ['IGNORED-LOG-CONTENT', 'IGNORED-BUILD-CONTENT', 'IGNORED-SECRET', 'STORE-CONTENT', 'DEP-CONTENT']) expect(patch).not.toContain(secret);
      for (const applyImpl of IMPLS) {
        const out = await rebuild(repo, s, applyImpl);
        expect(snapshot(out), `captured by ${impl}, applied by ${applyImpl}`).toEqual(dirtyTree);
      }
    }
    expect(states.cli!.patch).toMatch(/^delta \d+$/m); // the JS applier above decoded a real git delta
  });

  it("keeps a tracked credentials file's uncommitted changes out of the patch (both impls); the rest still rebuilds exactly", async () => {
    const repo = repoWith({ '.npmrc': 'registry=https://r.example.com/\n', 'tls/server.key': 'committed\n', 'src/a.ts': 'a\n', '.env.example': 'A=\n' });
    write(repo, '.npmrc', 'registry=https://r.example.com/\n//r.example.com/:_authToken=npm_PATCH_CANARY\n');
    write(repo, 'tls/server.key', 'PATCH_CANARY key\n');
    write(repo, '.env.example', 'A=PATCH_CANARY_IN_A_TEMPLATE_IS_KEPT\n');
    write(repo, 'src/a.ts', 'a2\n');
    rmSync(join(repo, 'tls/server.key'));
    write(repo, 'tls/server.key', 'PATCH_CANARY again\n');
    for (const impl of IMPLS) {
      const s = await captureGit(repo, { impl });
      expect(s?.dirty).toBe(true);
      expect(s?.patch).toContain('src/a.ts');
      expect(s?.patch?.replace('PATCH_CANARY_IN_A_TEMPLATE_IS_KEPT', '')).not.toContain('PATCH_CANARY');
      const tree = snapshot(await rebuild(repo, s!, impl));
      expect(readFileSync(join(await rebuild(repo, s!, impl), '.npmrc'), 'utf8')).toBe('registry=https://r.example.com/\n');
      expect(Object.keys(tree).sort()).toEqual(['.env.example', '.npmrc', 'src/a.ts', 'tls/server.key']);
    }
  });

  it('a patch does not apply to a tree that is not the recorded commit', async () => {
    const repo = repoWith({ 'a.txt': 'a\nb\nc\n' });
    write(repo, 'a.txt', 'a\nB\nc\n');
    const s = (await captureGit(repo, { impl: 'cli' }))!;
    for (const impl of IMPLS) {
      const out = await rebuild(repo, s, impl);
      const other = tmp();
      write(other, 'a.txt', 'something else\n');
      await expect(applyPatch(other, s.patch!, { impl })).rejects.toMatchObject({ code: 'GIT_PATCH_FAILED' });
      expect(readFileSync(join(out, 'a.txt'), 'utf8')).toBe('a\nB\nc\n');
    }
  });

  it('records a detached HEAD', async () => {
    const repo = repoWith({ 'a.txt': '1\n' });
    const first = git(repo, 'rev-parse', 'HEAD');
    write(repo, 'a.txt', '2\n');
    git(repo, 'commit', '-qam', 'second');
    git(repo, 'checkout', '-q', '--detach', first);
    for (const impl of IMPLS) {
      expect(await captureGit(repo, { impl })).toEqual({ commit: first, branch: null, dirty: false, remotes: {}, shallow: false, detached: true, untracked: [] });
    }
  });

  it('records a shallow clone', async () => {
    const src = repoWith({ 'a.txt': '1\n' });
    write(src, 'a.txt', '2\n');
    git(src, 'commit', '-qam', 'second');
    const dst = join(tmp(), 'clone');
    git(dirname(dst), 'clone', '-q', '--depth', '1', `file://${src}`, dst);
    expect(git(dst, 'rev-parse', '--is-shallow-repository')).toBe('true');
    write(dst, 'a.txt', '3\n');
    for (const impl of IMPLS) {
      const s = (await captureGit(dst, { impl }))!;
      expect(s).toMatchObject({ commit: git(src, 'rev-parse', 'HEAD'), branch: 'main', dirty: true, shallow: true, detached: false, untracked: [] });
      expect(s.remotes).toEqual({ origin: `file://${src}` });
      expect(snapshot(await rebuild(dst, s, 'cli'))).toEqual(snapshot(dst));
    }
  });

  it('handles a repo with a submodule', async () => {
    const lib = repoWith({ 'lib.ts': 'export const lib = 1;\n' });
    const repo = repoWith({ 'main.ts': 'import "./vendor/lib/lib.js";\n' });
    git(repo, 'submodule', '-q', 'add', `file://${lib}`, 'vendor/lib');
    git(repo, 'commit', '-qm', 'add submodule');
    const head = git(repo, 'rev-parse', 'HEAD');
    for (const impl of IMPLS) {
      expect(await captureGit(repo, { impl })).toEqual({ commit: head, branch: 'main', dirty: false, remotes: {}, shallow: false, detached: false, untracked: [] });
      expect(await listProjectFiles(repo, { impl })).toEqual(['.gitmodules', 'main.ts', 'vendor/lib/lib.ts']);
    }
    // The submodule moves to a new commit: the parent is dirty, and the patch names the new commit.
    const sub = join(repo, 'vendor/lib');
    write(sub, 'lib.ts', 'export const lib = 2;\n');
    git(sub, 'commit', '-qam', 'bump');
    const subHead = git(sub, 'rev-parse', 'HEAD');
    write(repo, 'main.ts', 'changed\n');
    for (const impl of IMPLS) {
      const s = (await captureGit(repo, { impl }))!;
      expect(s).toMatchObject({ commit: head, dirty: true, untracked: [] });
      expect(s.patch).toContain(`+Subproject commit ${subHead}`);
      // Rebuilding the parent tree still works; the submodule's own tree comes from its commit.
      const out = await rebuild(repo, s, impl === 'cli' ? 'isomorphic' : 'cli');
      expect(readFileSync(join(out, 'main.ts'), 'utf8')).toBe('changed\n');
    }
    // Captured from inside the submodule, the submodule is the repository.
    for (const impl of IMPLS) expect(await captureGit(sub, { impl })).toMatchObject({ commit: subHead, dirty: false });
  });

  it('handles a repo with no commits yet: commit null, every file untracked, patch rebuilds from nothing', async () => {
    const repo = repoWith({ 'a.ts': 'a\n', 'dir/b.bin': Buffer.from([0, 1]), '.gitignore': 'ignored.txt\n', 'ignored.txt': 'NOPE' }, false);
    write(repo, 'staged.ts', 'staged\n');
    git(repo, 'add', 'staged.ts');
    for (const impl of IMPLS) {
      const s = (await captureGit(repo, { impl }))!;
      expect(s).toMatchObject({ commit: null, branch: 'main', dirty: true, detached: false, shallow: false, remotes: {} });
      expect(s.untracked).toEqual(['.gitignore', 'a.ts', 'dir/b.bin', 'staged.ts']);
      expect(s.patch).not.toContain('NOPE');
      for (const applyImpl of IMPLS) {
        expect(snapshot(await rebuild(repo, s, applyImpl))).toEqual(snapshot(repo, ['ignored.txt']));
      }
    }
    // An empty new repository is not dirty.
    const empty = repoWith({}, false);
    for (const impl of IMPLS) {
      expect(await captureGit(empty, { impl })).toEqual({ commit: null, branch: 'main', dirty: false, remotes: {}, shallow: false, detached: false, untracked: [] });
    }
  });

  it('strips credentials from remote URLs', async () => {
    const repo = repoWith({ 'a.txt': 'a\n' });
    git(repo, 'remote', 'add', 'origin', 'https://ghp_SECRET@github.com/o/r.git');
    git(repo, 'remote', 'add', 'mirror', 'https://user:hunter2@gitlab.example.com/o/r.git?private_token=SECRET2');
    git(repo, 'remote', 'add', 'my.fork', 'git@github.com:me/r.git');
    for (const impl of IMPLS) {
      const s = (await captureGit(repo, { impl }))!;
      expect(s.remotes).toEqual({ origin: 'https://github.com/o/r.git', mirror: 'https://gitlab.example.com/o/r.git', 'my.fork': 'git@github.com:me/r.git' });
      expect(JSON.stringify(s)).not.toMatch(/SECRET|hunter2/);
    }
  });

  it('gives the same commit/branch/dirty/untracked from a subdirectory, with repo-relative paths', async () => {
    const repo = repoWith({ 'pkg/flows/a.ts': 'a\n', 'other/b.ts': 'b\n' });
    write(repo, 'other/new.ts', 'n\n');
    for (const impl of IMPLS) {
      const fromTop = (await captureGit(repo, { impl }))!;
      const fromSub = (await captureGit(join(repo, 'pkg/flows'), { impl }))!;
      expect(fromSub).toEqual(fromTop);
      expect(fromSub.untracked).toEqual(['other/new.ts']);
    }
  });

  it('the default impl is the CLI and agrees with isomorphic-git', async () => {
    const repo = repoWith({ 'a.txt': 'a\n' });
    write(repo, 'b.txt', 'b\n');
    const auto = (await captureGit(repo))!;
    const cli = (await captureGit(repo, { impl: 'cli' }))!;
    const iso = (await captureGit(repo, { impl: 'isomorphic' }))!;
    expect(auto).toEqual(cli);
    for (const k of ['commit', 'branch', 'dirty', 'untracked', 'shallow', 'detached', 'remotes'] as const) expect(iso[k]).toEqual(cli[k]);
    expect(iso.patch).toBe(cli.patch); // both write untracked sections the same way
  });

  it('handles a file removed from the index only, a file replaced by a directory, a nested repo and a merge conflict', async () => {
    const repo = repoWith({ 'keep.txt': 'k\n', 'f': 'was a file\n', 'a.txt': 'a\n' });
    git(repo, 'rm', '-q', '--cached', 'keep.txt'); // in HEAD and on disk, not in the index: untracked to git
    rmSync(join(repo, 'f'));
    write(repo, 'f/inner.txt', 'now a directory\n');
    const nested = join(repo, 'nested');
    mkdirSync(nested);
    git(nested, 'init', '-q');
    write(nested, 'n.txt', 'inside a nested repository\n');
    const states: GitState[] = [];
    for (const impl of IMPLS) {
      const s = (await captureGit(repo, { impl }))!;
      states.push(s);
      // git lists a nested repository as one "nested/" entry and never looks inside; neither do we.
      expect(s.untracked).toEqual(['f/inner.txt', 'keep.txt']);
      for (const applyImpl of IMPLS) expect(snapshot(await rebuild(repo, s, applyImpl))).toEqual(snapshot(repo, ['nested']));
    }
    expect(states[1]!.patch).toBe(states[0]!.patch);

    // A merge stopped on a conflict: the conflicted file, markers and all, is what the tree holds.
    const m = repoWith({ 'f.txt': 'base\n' });
    git(m, 'checkout', '-qb', 'other');
    write(m, 'f.txt', 'theirs\n');
    git(m, 'commit', '-qam', 'theirs');
    git(m, 'checkout', '-q', 'main');
    write(m, 'f.txt', 'ours\n');
    git(m, 'commit', '-qam', 'ours');
    expect(() => git(m, 'merge', '-q', 'other')).toThrow();
    for (const impl of IMPLS) {
      const s = (await captureGit(m, { impl }))!;
      expect(s).toMatchObject({ dirty: true, untracked: [] });
      expect(snapshot(await rebuild(m, s, impl))).toEqual(snapshot(m));
    }
  });

  it('refuses a file name that is not UTF-8 with a clear error (the CLI skips ignored ones)', async () => {
    const repo = repoWith({ '.gitignore': 'ignored-*\n', 'a.txt': 'a\n' });
    const bad = Buffer.concat([Buffer.from(`${repo}/ignored-`), Buffer.from([0xff, 0xfe])]);
    writeFileSync(bad, 'x');
    expect((await captureGit(repo, { impl: 'cli' }))!.dirty).toBe(false);
    // isomorphic-git stats every name, ignored ones too, so there even an ignored one is an error.
    await expect(captureGit(repo, { impl: 'isomorphic' })).rejects.toMatchObject({ code: 'GIT_NON_UTF8_PATH' });
    writeFileSync(Buffer.concat([Buffer.from(`${repo}/bad-`), Buffer.from([0xff, 0xfe])]), 'x');
    for (const impl of IMPLS) {
      await expect(captureGit(repo, { impl })).rejects.toMatchObject({ code: 'GIT_NON_UTF8_PATH' });
      await expect(listProjectFiles(repo, { impl })).rejects.toMatchObject({ code: 'GIT_NON_UTF8_PATH' });
    }
  });

  it('falls back to isomorphic-git and the JS applier when no git binary is on PATH (Batch containers)', async () => {
    const repo = repoWith({ 'a.txt': 'a\n', 'b.bin': Buffer.from([0, 1, 2]) });
    write(repo, 'a.txt', 'A\n');
    write(repo, 'new.txt', 'new\n');
    const withGit = (await captureGit(repo, { impl: 'isomorphic' }))!;
    const base = await rebuild(repo, { ...withGit, patch: undefined }, 'cli');
    const savedPath = process.env.PATH;
    process.env.PATH = join(tmp(), 'no-git-here');
    try {
      expect(await captureGit(repo)).toEqual(withGit);
      expect(await listProjectFiles(repo)).toEqual(['a.txt', 'b.bin', 'new.txt']);
      await expect(captureGit(repo, { impl: 'cli' })).rejects.toMatchObject({ code: 'GIT_NOT_FOUND' });
      await applyPatch(base, withGit.patch!);
    } finally {
      process.env.PATH = savedPath;
    }
    expect(snapshot(base)).toEqual(snapshot(repo));
  });

  it('ignores a GIT_DIR inherited from a git hook', async () => {
    const repo = repoWith({ 'a.txt': 'a\n' });
    const other = repoWith({ 'z.txt': 'z\n' });
    const saved = process.env.GIT_DIR;
    process.env.GIT_DIR = join(other, '.git');
    try {
      expect((await captureGit(repo, { impl: 'cli' }))!.commit).toBe(git(repo, 'rev-parse', 'HEAD'));
      expect(await listProjectFiles(repo, { impl: 'cli' })).toEqual(['a.txt']);
    } finally {
      if (saved === undefined) delete process.env.GIT_DIR;
      else process.env.GIT_DIR = saved;
    }
  });

  it('errors clearly when the project root does not exist', async () => {
    await expect(captureGit(join(tmp(), 'missing'))).rejects.toMatchObject({ code: 'PROJECT_ROOT_MISSING' });
  });
});

describe('listProjectFiles', () => {
  it('lists tracked + untracked-not-ignored files, never .flow/ or node_modules/, byte-order sorted', async () => {
    const repo = repoWith({
      '.gitignore': '*.log\nbuild/\n',
      'b.ts': 'b',
      'a.ts': 'a',
      'Z.ts': 'z',
      'node_modules/tracked/index.js': 'tracked dep',
      '.flow/tracked-record.json': '{}',
      'sub/node_modules/x.js': 'nested dep',
      'deleted.ts': 'd',
      'sp ace/ünï.ts': 'u',
      'emoji/😀.ts': 'e',
      'emoji/\uffff.ts': 'bmp-max',
    });
    rmSync(join(repo, 'deleted.ts'));
    write(repo, 'new file.ts', 'n');
    write(repo, 'sub/new.ts', 'n');
    write(repo, 'debug.log', 'x');
    write(repo, 'build/x.js', 'x');
    write(repo, '.flow/objects/ab/cd', 'x');
    write(repo, 'node_modules/untracked/index.js', 'x');
    const expected = ['.gitignore', 'Z.ts', 'a.ts', 'b.ts', 'emoji/\uffff.ts', 'emoji/😀.ts', 'new file.ts', 'sp ace/ünï.ts', 'sub/new.ts'];
    for (const impl of IMPLS) {
      expect(await listProjectFiles(repo, { impl })).toEqual(expected);
      expect(await listProjectFiles(join(repo, 'sub'), { impl })).toEqual(['new.ts']);
    }
    expect(await listProjectFiles(repo)).toEqual(expected);
  });
});
