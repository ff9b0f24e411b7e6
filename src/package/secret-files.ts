/**
 * Files that by name hold credentials: never put into a code package or a dirty-tree patch,
 * which are stored (and mirrored) with every run. DESIGN §5: the framework writes no secret.
 * Templates (`.env.example` and the like) are ordinary files.
 */
const ENV_TEMPLATES = new Set(['.env.example', '.env.sample', '.env.template', '.env.dist', '.env.defaults']);
const PRIVATE_KEYS = new Set(['id_rsa', 'id_dsa', 'id_ecdsa', 'id_ed25519']);
const CREDENTIAL_FILES = new Set(['.netrc', '.pgpass', '.git-credentials']);
const KEY_EXTENSIONS = ['.pem', '.p12', '.pfx'];

export function isSecretFile(path: string): boolean {
  const segs = path.split('/');
  const name = segs[segs.length - 1]!;
  if ((name === '.env' || name.startsWith('.env.')) && !ENV_TEMPLATES.has(name)) return true;
  if (PRIVATE_KEYS.has(name) || CREDENTIAL_FILES.has(name)) return true;
  if (KEY_EXTENSIONS.some((ext) => name.endsWith(ext))) return true;
  return name === 'credentials' && segs[segs.length - 2] === '.aws';
}
