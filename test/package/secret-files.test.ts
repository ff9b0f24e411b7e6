import { describe, expect, it } from 'vitest';
import { isSecretFile } from '../../src/package/secret-files.js';

const text = (s: string) => () => Buffer.from(s);

describe('isSecretFile', () => {
  it('matches credentials files by name, anywhere in the tree', () => {
    for (const p of ['.env', '.env.local', '.env.production', 'app/.env', 'certs/server.pem', 'keys/client.p12', 'a.pfx', '.ssh/id_rsa', 'id_ed25519', '.netrc', '.pgpass', '.git-credentials', 'home/.aws/credentials']) {
      expect(isSecretFile(p), p).toBe(true);
    }
  });

  it('matches the wider list: .envrc, *.env, case variants, *.key, credentials.json, .ssh/*, docker and kube configs, vault and pypi tokens', () => {
    for (const p of [
      '.envrc',
      'deploy/.envrc',
      'prod.env',
      'config/staging.env',
      '.ENV',
      '.Env.Local',
      'PROD.ENV',
      'tls/server.key',
      'SERVER.KEY',
      'ID_RSA',
      'credentials.json',
      'secrets/Credentials.JSON',
      '.ssh/config',
      '.ssh/known_hosts',
      'home/.ssh/id_ecdsa_sk',
      'x/.SSH/authorized_keys',
      '.docker/config.json',
      '.vault-token',
      '.pypirc',
      'kubeconfig',
      '.kube/config',
      'clusters/prod.kubeconfig',
      '.AWS/Credentials',
      'client_secret_1234.apps.googleusercontent.com.json',
      '.gnupg/secring.gpg',
      'keys/AuthKey_ABC.p8',
    ]) {
      expect(isSecretFile(p), p).toBe(true);
    }
  });

  it('leaves templates and ordinary files alone', () => {
    for (const p of [
      '.env.example',
      '.env.sample',
      '.env.template',
      '.env.dist',
      '.env.defaults',
      'env.ts',
      'src/environment.ts',
      'id_rsa.pub',
      'credentials',
      'aws/credentials.md',
      'pem.txt',
      '.envrc.md',
      'example.env',
      'prod.env.example',
      '.ENV.EXAMPLE',
      'keyboard.ts',
      'monkey.ts',
      'docker/config.json',
      'kube/config',
      '.key',
      'src/key.ts',
      'config.json',
      'package.json',
      '.npmrc',
      '.yarnrc.yml',
    ]) {
      expect(isSecretFile(p), p).toBe(false);
    }
  });

  it('reads .npmrc, .yarnrc and .yarnrc.yml: secrets only when they hold a token, not a ${VAR} reference', () => {
    const secret: Array<[string, string]> = [
      ['.npmrc', '//registry.npmjs.org/:_authToken=npm_abcdef123456\n'],
      ['.npmrc', 'registry=https://r.example.com/\n//r.example.com/:_auth = dXNlcjpwYXNz\n'],
      ['.npmrc', '//r.example.com/:username=bob\n//r.example.com/:_password=cGFzcw==\n'],
      ['sub/.NPMRC', '//registry.npmjs.org/:_authToken=npm_x\n'],
      ['.yarnrc.yml', 'npmRegistryServer: "https://r.example.com"\nnpmAuthToken: "npm_abcdef"\n'],
      ['.yarnrc.yml', 'npmScopes:\n  acme:\n    npmAuthIdent: "user:pass"\n'],
      ['.yarnrc', '"//registry.npmjs.org/:_authToken" npm_abc\n'],
    ];
    for (const [p, content] of secret) expect(isSecretFile(p, text(content)), `${p}: ${content}`).toBe(true);
    const ordinary: Array<[string, string]> = [
      ['.npmrc', 'registry=https://r.example.com/\nsave-exact=true\n'],
      ['.npmrc', '//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n'],
      ['.npmrc', '# //registry.npmjs.org/:_authToken=npm_commented_out\nalways-auth=true\n'],
      ['.yarnrc.yml', 'nodeLinker: node-modules\nnpmAuthToken: "${NPM_TOKEN}"\n'],
      ['.yarnrc', 'registry "https://r.example.com"\n'],
    ];
    for (const [p, content] of ordinary) expect(isSecretFile(p, text(content)), `${p}: ${content}`).toBe(false);
  });

  it('recognises a service-account JSON key by its content, whatever its name', () => {
    const key = JSON.stringify({ type: 'service_account', project_id: 'p', private_key_id: 'abc', private_key: '-----BEGIN PRIVATE KEY-----\nMII...\n-----END PRIVATE KEY-----\n', client_email: 'x@p.iam.gserviceaccount.com' }, null, 2);
    expect(isSecretFile('config/my-project-3f2a1b.json', text(key))).toBe(true);
    expect(isSecretFile('gcp.JSON', text(key))).toBe(true);
    expect(isSecretFile('config/settings.json', text('{"type": "service_account_docs", "private": true}'))).toBe(false);
    expect(isSecretFile('package.json', text('{"name":"p"}'))).toBe(false);
  });
});
