/** Which page a URL is: every page has its own path, so links can be opened, shared and bookmarked. */
export type Route =
  | { page: 'runs'; query: URLSearchParams }
  | { page: 'run'; run: string }
  | { page: 'step'; run: string; step: string }
  | { page: 'task'; run: string; step: string; task: string; query: URLSearchParams }
  | { page: 'code'; run: string; path?: string }
  | { page: 'patch'; run: string }
  | { page: 'replay'; run: string }
  | { page: 'diff'; a: string; b: string }
  | { page: 'not-found'; path: string };

export function parseRoute(url: URL): Route {
  const parts = url.pathname
    .split('/')
    .filter(Boolean)
    .map((p) => decodeURIComponent(p));
  const [a, b, c, d, e, f] = parts;
  if (parts.length === 0) return { page: 'runs', query: url.searchParams };
  if (a === 'runs' && b) {
    if (parts.length === 2) return { page: 'run', run: b };
    if (c === 'steps' && d && parts.length === 4) return { page: 'step', run: b, step: d };
    if (c === 'steps' && d && e === 'tasks' && f && parts.length === 6) return { page: 'task', run: b, step: d, task: f, query: url.searchParams };
    if (c === 'code') return { page: 'code', run: b, path: url.searchParams.get('path') ?? undefined };
    if (c === 'patch' && parts.length === 3) return { page: 'patch', run: b };
    if (c === 'replay' && parts.length === 3) return { page: 'replay', run: b };
  }
  if (a === 'diff' && b && c && parts.length === 3) return { page: 'diff', a: b, b: c };
  return { page: 'not-found', path: url.pathname };
}

type Listener = () => void;
const listeners = new Set<Listener>();

export function onNavigate(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** Moves to a URL of this app without reloading; the back button returns (popstate). */
export function navigate(href: string, replace = false): void {
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  window.scrollTo(0, 0);
  for (const l of listeners) l();
}

/**
 * Links are real <a href> elements: a plain click stays in the app, while a middle click,
 * Ctrl/Cmd-click or "open in new tab" gets a full page at the same URL.
 */
export function interceptLinks(): void {
  addEventListener('popstate', () => {
    for (const l of listeners) l();
  });
  document.addEventListener('click', (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = (ev.target as Element | null)?.closest?.('a');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/cards/')) return;
    ev.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  });
}
