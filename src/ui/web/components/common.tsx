import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, getJson } from '../api.js';

export type Loaded<T> = { state: 'loading' } | { state: 'ok'; data: T } | { state: 'error'; error: ApiError };

/** Fetches JSON; refetches every `pollMs` while `keepPolling(data)` says so (a running run). */
export function useJson<T>(path: string, pollMs = 0, keepPolling: (d: T) => boolean = () => false): Loaded<T> {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  useEffect(() => {
    let stop = false;
    let timer: number | undefined;
    setLoaded({ state: 'loading' });
    const load = async () => {
      try {
        const data = await getJson<T>(path);
        if (stop) return;
        setLoaded({ state: 'ok', data });
        if (pollMs > 0 && keepPolling(data)) timer = window.setTimeout(load, pollMs);
      } catch (e) {
        if (!stop) setLoaded({ state: 'error', error: e instanceof ApiError ? e : new ApiError(0, 'UI_FETCH', String(e)) });
      }
    };
    void load();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [path]);
  return loaded;
}

export function Loading() {
  return <p class="loading">Loading…</p>;
}

export function ErrorBox({ error }: { error: ApiError }) {
  return (
    <div class="error-box" role="alert">
      <strong>{error.code}</strong>: {error.message}
      {error.fix ? <div class="fix">Fix: {error.fix}</div> : null}
    </div>
  );
}

/** Renders `children(data)` once loaded, a spinner before, the error if it failed. */
export function Load<T>({ loaded, children }: { loaded: Loaded<T>; children: (data: T) => ComponentChildren }) {
  if (loaded.state === 'loading') return <Loading />;
  if (loaded.state === 'error') return <ErrorBox error={loaded.error} />;
  return <>{children(loaded.data)}</>;
}

export function Status({ status }: { status: string }) {
  return <span class={`status status-${status.replace(/\s+/g, '-')}`}>{status}</span>;
}

export function duration(ms: number | undefined): string {
  if (ms === undefined || ms === null) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} m ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} m`;
}

export function when(iso: string | undefined): string {
  return iso ? iso.replace('T', ' ').slice(0, 19) : '–';
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / (1 << 30)).toFixed(2)} GiB`;
}

export function short(hash: string | null | undefined, n = 10): string {
  return hash ? hash.slice(0, n) : '–';
}

export function Crumbs({ items }: { items: Array<[string, string | undefined]> }) {
  return (
    <nav class="crumbs" aria-label="breadcrumb">
      {items.map(([label, href], i) => (
        <span key={i}>
          {i > 0 ? <span class="sep">/</span> : null}
          {href ? <a href={href}>{label}</a> : <span>{label}</span>}
        </span>
      ))}
    </nav>
  );
}

/** A definition list of label → value rows. */
export function Facts({ rows }: { rows: Array<[string, ComponentChildren]> }) {
  return (
    <dl class="facts">
      {rows.map(([k, v]) => (
        <>
          <dt key={`k${k}`}>{k}</dt>
          <dd key={`v${k}`}>{v}</dd>
        </>
      ))}
    </dl>
  );
}
