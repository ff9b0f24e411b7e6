import { userInfo } from 'node:os';
import { UsageError } from '../errors/index.js';

/** Longest user name a run records (an OS account name is at most 32 on Linux, 256 on Windows). */
const USER_MAX = 100;

/**
 * Who starts a run, as Metaflow decides it: `--user`, else FLOW_USER, else the OS account
 * (USER / USERNAME when the account has no entry, e.g. in a container running as a bare uid).
 * Recorded on every run; the client's default namespace is `user:<this name>`.
 */
export function currentUser(flag?: string): string {
  const given = flag ?? nonEmpty(process.env.FLOW_USER);
  if (given !== undefined) return checkUser(given, flag !== undefined ? '--user' : 'FLOW_USER');
  let name: string | undefined;
  try {
    name = nonEmpty(userInfo().username);
  } catch {
    /* no passwd entry for this uid */
  }
  name ??= nonEmpty(process.env.USER) ?? nonEmpty(process.env.USERNAME);
  return name && isUserName(name) ? name : 'unknown';
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s;
}

/** A user name: printable, no surrounding spaces, short enough to show in a column. */
export function isUserName(s: unknown): s is string {
  return typeof s === 'string' && s.length > 0 && s.length <= USER_MAX && s.trim() === s && !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(s);
}

function checkUser(name: string, source: string): string {
  if (isUserName(name)) return name;
  throw new UsageError('USER_INVALID', `${source} ${JSON.stringify(name).slice(0, 120)} is not a usable user name: it must be 1 to ${USER_MAX} printable characters without surrounding spaces.`, {
    fix: `Set ${source} to a plain name such as alice (or unset it to use your OS account).`,
  });
}

/** The namespace of a user's runs, as the client filters by (Metaflow's `user:<name>`). */
export const userNamespace = (user: string) => `user:${user}`;
