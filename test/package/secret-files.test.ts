import { describe, expect, it } from 'vitest';
import { isSecretFile } from '../../src/package/secret-files.js';

describe('isSecretFile', () => {
  it('matches credentials files by name, anywhere in the tree', () => {
    for (const p of ['.env', '.env.local', '.env.production', 'app/.env', 'certs/server.pem', 'keys/client.p12', 'a.pfx', '.ssh/id_rsa', 'id_ed25519', '.netrc', '.pgpass', '.git-credentials', 'home/.aws/credentials']) {
      expect(isSecretFile(p), p).toBe(true);
    }
  });

  it('leaves templates and ordinary files alone', () => {
    for (const p of ['.env.example', '.env.sample', '.env.template', '.env.dist', '.env.defaults', 'env.ts', 'src/environment.ts', 'id_rsa.pub', 'credentials', 'aws/credentials.md', 'pem.txt', '.envrc.md']) {
      expect(isSecretFile(p), p).toBe(false);
    }
  });
});
