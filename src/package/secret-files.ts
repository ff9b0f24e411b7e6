/**
 * Files that hold credentials: never put into a code package or a dirty-tree patch, which are
 * stored (and mirrored) with every run. DESIGN §5: the framework writes no secret.
 *
 * Most are known by name, compared case-insensitively (`.ENV` on a case-insensitive disk is
 * `.env`). A few names are ordinary configuration unless they hold a token (`.npmrc`,
 * `.yarnrc.yml`), and service-account keys have arbitrary `.json` names: for those the content
 * decides, read through `read` (small regular files only; see `readSmall`). Templates
 * (`.env.example`, `example.env`) are ordinary files.
 */
import { closeSync, fstatSync, lstatSync, openSync, readSync } from 'node:fs';

/** Dot-separated words that make an env file a template rather than a secret. */
const TEMPLATE_WORDS = new Set(['example', 'sample', 'template', 'tmpl', 'dist', 'defaults']);
const PRIVATE_KEYS = new Set(['id_rsa', 'id_dsa', 'id_ecdsa', 'id_ed25519', 'id_ecdsa_sk', 'id_ed25519_sk']);
const CREDENTIAL_FILES = new Set(['.netrc', '_netrc', '.pgpass', '.git-credentials', '.envrc', '.vault-token', '.pypirc', 'credentials.json', 'kubeconfig', '.dockercfg', '.s3cfg', '.boto', '.htpasswd', '.my.cnf']);
const KEY_EXTENSIONS = ['.pem', '.key', '.p12', '.pfx', '.p8', '.ppk', '.jks', '.keystore', '.kubeconfig'];
/** Folders whose every file is a secret (`.ssh/*`), or that hold one at a known name. */
const SECRET_DIRS = new Set(['.ssh', '.gnupg']);
const SECRET_IN_DIR: ReadonlyArray<[dir: string, name: string]> = [
  ['.aws', 'credentials'],
  ['.docker', 'config.json'],
  ['.kube', 'config'],
];

/** npm/yarn auth settings, with a value that is not just a `${VAR}` reference (npm's documented way to keep tokens out of the file). */
const NPMRC_AUTH = /^\s*[^#;\n]*?(?:_authToken|_auth|_password|password)\s*=\s*(?!\s*["']?\$\{[A-Za-z0-9_]+\}["']?\s*$)\S/im;
const YARNRC_AUTH = /^\s*(?:npmAuthToken|npmAuthIdent|npmPassword)\s*:\s*(?!\s*["']?\$\{[A-Za-z0-9_]+\}["']?\s*$)\S/im;
const YARN1_AUTH = /(?:_authToken|_auth|_password)["']?\s+(?!["']?\$\{[A-Za-z0-9_]+\}["']?\s*$)\S/im;

export type ReadFile = () => Buffer | undefined;

/**
 * Whether `path` (POSIX, relative) names a credentials file. `read` gives its bytes when the
 * name alone cannot tell (.npmrc, .yarnrc.yml, *.json); without it such files count as ordinary.
 */
export function isSecretFile(path: string, read?: ReadFile): boolean {
  const segs = path.toLowerCase().split('/');
  const name = segs[segs.length - 1]!;
  const dirs = segs.slice(0, -1);
  if (isEnvFile(name)) return true;
  if (PRIVATE_KEYS.has(name) || CREDENTIAL_FILES.has(name)) return true;
  if (KEY_EXTENSIONS.some((ext) => name.endsWith(ext) && name.length > ext.length)) return true;
  if (dirs.some((d) => SECRET_DIRS.has(d))) return true;
  const parent = dirs[dirs.length - 1];
  if (SECRET_IN_DIR.some(([d, n]) => d === parent && n === name)) return true;
  if (name.startsWith('client_secret') && name.endsWith('.json')) return true; // Google OAuth client secrets
  if (!read) return false;
  if (name === '.npmrc') return matches(read, NPMRC_AUTH);
  if (name === '.yarnrc.yml' || name === '.yarnrc.yaml') return matches(read, YARNRC_AUTH);
  if (name === '.yarnrc') return matches(read, YARN1_AUTH) || matches(read, NPMRC_AUTH);
  if (name.endsWith('.json')) return isServiceAccountKey(read);
  return false;
}

/** `.env`, `.env.local`, `prod.env`, `.ENV`; not `.env.example`, `example.env`, `env.ts`. */
function isEnvFile(name: string): boolean {
  const words = name.split('.');
  const envLike = name === '.env' || name.startsWith('.env.') || (name.endsWith('.env') && name.length > 4);
  return envLike && !words.some((w) => TEMPLATE_WORDS.has(w));
}

function matches(read: ReadFile, re: RegExp): boolean {
  const bytes = read();
  return bytes !== undefined && re.test(bytes.toString('utf8'));
}

/** A Google Cloud service-account key (or any JSON key file carrying a private key). */
function isServiceAccountKey(read: ReadFile): boolean {
  const bytes = read();
  if (!bytes) return false;
  const text = bytes.toString('utf8');
  return /"private_key"\s*:\s*"-----BEGIN/.test(text) || (/"type"\s*:\s*"service_account"/.test(text) && /"private_key(_id)?"\s*:/.test(text));
}

/** Credentials files are small; larger files (data, lock files) are never read for this. */
export const SECRET_SNIFF_MAX_BYTES = 64 * 1024;

/**
 * A reader for `isSecretFile`: the bytes of `abs` when it is a regular file (a symlink is
 * packaged as a link, never its target's bytes) of at most SECRET_SNIFF_MAX_BYTES.
 */
export function readSmall(abs: string): ReadFile {
  return () => {
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st?.isFile() || st.size > SECRET_SNIFF_MAX_BYTES) return undefined;
    let fd: number | undefined;
    try {
      fd = openSync(abs, 'r');
      const size = Math.min(fstatSync(fd).size, SECRET_SNIFF_MAX_BYTES);
      const buf = Buffer.alloc(size);
      return buf.subarray(0, readSync(fd, buf, 0, size, 0));
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  };
}
