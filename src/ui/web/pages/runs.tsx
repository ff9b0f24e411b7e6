import { useState } from 'preact/hooks';
import { runPath } from '../api.js';
import { Load, Status, duration, short, useJson, when } from '../components/common.js';
import { navigate } from '../router.js';
import type { RunRow, RunsModel, Verdict } from '../types.js';

const FILTERS = ['flow', 'status', 'tag', 'user'] as const;

/** All runs, newest first, filtered by flow, status, tag and user (the filters are in the URL). */
export function RunsPage({ query }: { query: URLSearchParams }) {
  const qs = query.toString();
  // Polled: new runs appear and running ones change status without a reload.
  const loaded = useJson<RunsModel>(`/api/runs${qs ? `?${qs}` : ''}`, 2000, () => true);
  const [picked, setPicked] = useState<string[]>([]);
  const setFilter = (k: string, v: string) => {
    const next = new URLSearchParams(query);
    if (v) next.set(k, v);
    else next.delete(k);
    next.delete('offset');
    const s = next.toString();
    navigate(s ? `/?${s}` : '/');
  };
  const toggle = (id: string) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p, id].slice(-2)));
  return (
    <section>
      <h1>Runs</h1>
      <Load loaded={loaded}>
        {(m) => (
          <>
            <div class="toolbar">
              {FILTERS.map((k) => {
                const values = m.facets[`${k === 'status' ? 'statuse' : k}s` as keyof RunsModel['facets']];
                if (k === 'user' && values.length === 0) return null;
                return (
                  <label key={k}>
                    {k}{' '}
                    <select name={k} value={query.get(k) ?? ''} onChange={(e) => setFilter(k, (e.target as HTMLSelectElement).value)}>
                      <option value="">all</option>
                      {values.map((v) => (
                        <option key={v} value={v}>
                          {v}
                        </option>
                      ))}
                    </select>
                  </label>
                );
              })}
              {m.source === 'local' ? (
                <a href={`/?${new URLSearchParams([...query, ['source', 'mirror']]).toString()}`} class="aside">
                  runs on the mirror
                </a>
              ) : (
                <a href="/" class="aside">
                  local runs
                </a>
              )}
              <span class="count">
                {m.matched} of {m.total} run{m.total === 1 ? '' : 's'} {m.source === 'mirror' ? 'on the mirror' : 'in'} <code>{m.location}</code>
              </span>
              {picked.length === 2 ? (
                <a class="button" id="compare" href={`/diff/${encodeURIComponent(picked[0]!)}/${encodeURIComponent(picked[1]!)}`}>
                  Compare {picked[0]} and {picked[1]}
                </a>
              ) : (
                <span class="hint">tick two runs to compare them</span>
              )}
            </div>
            {m.rows.length === 0 ? (
              <p class="empty">{m.total === 0 ? 'No runs yet. Start one with: flow run <flow.ts>' : 'No run matches these filters.'}</p>
            ) : (
              <table class="runs grid">
                <thead>
                  <tr>
                    <th></th>
                    <th>run</th>
                    <th>flow</th>
                    <th>status</th>
                    <th>started</th>
                    <th>duration</th>
                    <th>commit</th>
                    <th>tags</th>
                    {m.facets.users.length ? <th>user</th> : null}
                  </tr>
                </thead>
                <tbody>
                  {m.rows.map((r) => (
                    <Row key={r.id} r={r} users={m.facets.users.length > 0} picked={picked.includes(r.id)} toggle={toggle} />
                  ))}
                </tbody>
              </table>
            )}
          </>
        )}
      </Load>
    </section>
  );
}

function Row({ r, users, picked, toggle }: { r: RunRow; users: boolean; picked: boolean; toggle: (id: string) => void }) {
  return (
    <tr data-run={r.id} class={`run-row status-row-${r.status}`}>
      <td>
        <input type="checkbox" aria-label={`select ${r.id}`} checked={picked} onChange={() => toggle(r.id)} />
      </td>
      <td>
        <a href={runPath(r.id)}>{r.id}</a>
      </td>
      <td>
        <a href={`/?flow=${encodeURIComponent(r.flow)}`}>{r.flow}</a>
      </td>
      <td>
        <Status status={r.status} />
        {r.replayOf ? <ReplayMark of={r.replayOf} id={r.id} verdict={r.verdict} /> : null}
        {r.origin ? (
          <span class="note">
            {' '}
            resumes <a href={runPath(r.origin)}>{r.origin}</a>
          </span>
        ) : null}
      </td>
      <td>{when(r.started)}</td>
      <td>{duration(r.durationMs)}</td>
      <td>
        <code>{short(r.commit)}</code>
        {r.dirty ? (
          <span class="dirty" title="uncommitted changes">
            +dirty
          </span>
        ) : null}
      </td>
      <td>
        {r.tags.map((t) => (
          <a key={t} class="tag" href={`/?tag=${encodeURIComponent(t)}`}>
            {t}
          </a>
        ))}
      </td>
      {users ? <td>{r.user ?? '–'}</td> : null}
    </tr>
  );
}

export function ReplayMark({ of, id, verdict }: { of: string; id: string; verdict?: Verdict }) {
  const label = !verdict ? 'replay' : verdict.reproduced ? 'reproduced' : 'diverged';
  return (
    <a class={`replay replay-${label}`} href={`/runs/${encodeURIComponent(id)}/replay`} title={`replay of ${of}`}>
      {verdict ? (verdict.reproduced ? '✓ ' : '✗ ') : ''}
      {label} {of}
    </a>
  );
}
