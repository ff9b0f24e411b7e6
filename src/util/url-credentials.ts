/**
 * Credentials embedded in URLs (`https://user:token@host/…`, `?access_token=…`): what flowrun
 * records of a git remote, and what its error messages show of an endpoint, never includes them.
 *
 * A password may contain characters that end a URL's authority (`/`, `?`, `#`, `@`): such a URL
 * is not valid, but users write them (base64 secrets contain `/`), and the part after such a
 * character must not survive as a "path". So the userinfo is found from the right: it ends at
 * the last `@` that is followed by a host name, provided what comes before is credential-shaped
 * (has no `/`, `?` or `#`, or has a `:` before the first of them, as `user:pass/word` does).
 * `https://host/@scope/pkg` therefore keeps its path. The one ambiguous shape,
 * `https://host:8443/x@y/…`, is read as credentials: losing a path is better than leaking a key.
 */

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
/** A host (name, IPv4 or bracketed IPv6) with an optional port, then the end of the authority. */
const HOST = /^(?:\[[0-9A-Za-z:.%]+\]|[A-Za-z0-9._~%-]+)(?::\d*)?(?![A-Za-z0-9._~%:-])/;
const SSH_SCHEMES = /^(ssh|git\+ssh|ssh\+git)$/i;

/** Index of the `@` that ends the userinfo in `rest` (the URL after `scheme://`), or -1. */
function userinfoEnd(rest: string): number {
  for (let i = rest.lastIndexOf('@'); i !== -1; i = i === 0 ? -1 : rest.lastIndexOf('@', i - 1)) {
    if (!HOST.test(rest.slice(i + 1))) continue;
    const userinfo = rest.slice(0, i);
    const delim = userinfo.search(/[/?#]/);
    if (delim === -1) return i;
    const colon = userinfo.indexOf(':');
    if (colon !== -1 && colon < delim) return i;
  }
  return -1;
}

const dropQuery = (s: string): string => s.replace(/[?#].*$/s, '');

/**
 * A remote URL without credentials: `https://user:token@host/x?token=y#f` → `https://host/x`.
 * For ssh (`ssh://git@host/x`, `git@host:x`) the user name is kept, since it is part of the
 * address and not a secret, but a password is dropped.
 */
export function stripCredentials(url: string): string {
  const u = url.trim();
  const scheme = SCHEME.exec(u);
  if (scheme) {
    const rest = u.slice(scheme[0].length);
    const at = userinfoEnd(rest);
    if (at === -1) return scheme[0] + dropQuery(rest);
    const user = rest.slice(0, at).split(':')[0] ?? '';
    const keep = SSH_SCHEMES.test(scheme[1] ?? '') && user !== '' && !/[/?#@]/.test(user) ? `${user}@` : '';
    return scheme[0] + keep + dropQuery(rest.slice(at + 1));
  }
  // scp-like `user[:pass]@host:path` (no scheme): keep the user, drop a password.
  const scp = /^(.*)@([A-Za-z0-9._~%-]+:)/s.exec(u);
  if (scp) {
    const userinfo = scp[1] ?? '';
    const delim = userinfo.search(/[/?#]/);
    const colon = userinfo.indexOf(':');
    if (delim === -1 || (colon !== -1 && colon < delim)) {
      const user = userinfo.split(':')[0] ?? '';
      return `${user !== '' && !/[@/]/.test(user) ? `${user}@` : ''}${dropQuery(u.slice(scp[1]!.length + 1))}`;
    }
  }
  return dropQuery(u);
}

/**
 * A URL as an error message may show it: userinfo replaced by `***`, query and fragment
 * (signatures, tokens) dropped. Text that is not a URL is returned unchanged.
 */
export function redactUrl(url: string): string {
  const scheme = SCHEME.exec(url);
  if (!scheme) return url;
  const rest = url.slice(scheme[0].length);
  const at = userinfoEnd(rest);
  const tail = at === -1 ? rest : rest.slice(at + 1);
  const cut = tail.search(/[?#]/);
  return `${scheme[0]}${at === -1 ? '' : '***@'}${cut === -1 ? tail : `${tail.slice(0, cut)}?…`}`;
}

/** `?token=…`, `&X-Amz-Signature=…` and the like: query values named like credentials. */
const SECRET_QUERY_VALUE = /([?&][^=&#]*(?:token|key|secret|passw|pwd|signature|sig|credential|auth)[^=&#]*=)[^&#]*/gi;

/** Every URL in free text (an error message) with its credentials redacted. */
export function redactUrlsIn(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(/[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s"'`<>]+/g, (token) => {
    const scheme = SCHEME.exec(token)!;
    const at = userinfoEnd(token.slice(scheme[0].length));
    const safe = at === -1 ? token : `${scheme[0]}***@${token.slice(scheme[0].length + at + 1)}`;
    return safe.replace(SECRET_QUERY_VALUE, '$1***');
  });
}
