import type { ComponentChildren } from 'preact';
import { runPath } from '../api.js';
import { Crumbs, Load, Status, duration, short, useJson } from '../components/common.js';

interface Change<T> {
  from?: T;
  to?: T;
}
interface RunDiff {
  a: string;
  b: string;
  flow: string;
  code: { commit: Change<string | null>; dirty: Change<boolean>; packageSame: boolean; added: string[]; removed: string[]; changed: string[]; patches?: Record<string, string> };
  params: Array<{ name: string } & Change<unknown>>;
  inputs: Array<{ name: string; path: Change<string>; hash: Change<string>; size: Change<number> }>;
  env: Array<{ what: string } & Change<string | null>>;
  envPackages: Array<{ step: string; manager: string; name: string; kind: string; from?: string; to?: string }>;
  steps: Array<{ step: string; status: Change<string>; tasks: Change<number>; attempts: Change<number>; durationMs: Change<number>; artifacts: Array<{ task: string; artifact: string; kind: string; from?: string; to?: string; detail?: string }>; onlyInA: string[]; onlyInB: string[] }>;
  differs: string[];
  verdict: string;
}

const val = (v: unknown) => (v === undefined ? <span class="note">(unset)</span> : <code>{JSON.stringify(v)}</code>);

/** Two runs side by side: what `flow diff A B --code` reports, in columns. */
export function DiffPage({ a, b }: { a: string; b: string }) {
  const loaded = useJson<RunDiff>(`/api/diff/${encodeURIComponent(a)}/${encodeURIComponent(b)}`);
  return (
    <section>
      <Crumbs
        items={[
          ['runs', '/'],
          [`diff ${a} ${b}`, undefined],
        ]}
      />
      <Load loaded={loaded}>
        {(d) => (
          <>
            <h1>
              {d.a} ↔ {d.b} <span class="flow-name">{d.flow}</span>
            </h1>
            <p class={`verdict ${d.differs.length ? 'differs' : 'same'}`}>
              {d.differs.length ? '≠ ' : '= '}
              {d.verdict}
            </p>
            <table class="grid diff">
              <thead>
                <tr>
                  <th></th>
                  <th>
                    <a href={runPath(d.a)}>{d.a}</a>
                  </th>
                  <th>
                    <a href={runPath(d.b)}>{d.b}</a>
                  </th>
                </tr>
              </thead>
              <tbody>
                <Section title="code" same={d.code.packageSame && d.code.commit.from === d.code.commit.to} />
                <Pair
                  k="commit"
                  a={
                    <>
                      <code>{short(d.code.commit.from, 12)}</code>
                      {d.code.dirty.from ? ' +dirty' : ''}
                    </>
                  }
                  b={
                    <>
                      <code>{short(d.code.commit.to, 12)}</code>
                      {d.code.dirty.to ? ' +dirty' : ''}
                    </>
                  }
                  changed={d.code.commit.from !== d.code.commit.to || d.code.dirty.from !== d.code.dirty.to}
                />
                {d.code.added.map((f) => (
                  <Pair key={`+${f}`} k={f} a={<span class="note">absent</span>} b="added" changed />
                ))}
                {d.code.removed.map((f) => (
                  <Pair key={`-${f}`} k={f} a="present" b={<span class="note">removed</span>} changed />
                ))}
                {d.code.changed.map((f) => (
                  <Pair key={`~${f}`} k={f} a="…" b="changed" changed />
                ))}
                <Section title="params" same={d.params.length === 0} />
                {d.params.map((p) => (
                  <Pair key={p.name} k={p.name} a={val(p.from)} b={val(p.to)} changed rowClass="param-change" />
                ))}
                {d.inputs.length ? <Section title="inputs" same={false} /> : null}
                {d.inputs.map((i) => (
                  <Pair
                    key={i.name}
                    k={i.name}
                    a={
                      <>
                        {i.path.from} <code>{short(i.hash.from)}</code>
                      </>
                    }
                    b={
                      <>
                        {i.path.to} <code>{short(i.hash.to)}</code>
                      </>
                    }
                    changed
                  />
                ))}
                <Section title="environment" same={d.env.length === 0 && d.envPackages.length === 0} />
                {d.env.map((e) => (
                  <Pair key={e.what} k={e.what} a={<code>{short(e.from, 16)}</code>} b={<code>{short(e.to, 16)}</code>} changed />
                ))}
                {d.envPackages.map((p) => (
                  <Pair key={`${p.step}:${p.name}`} k={`${p.step}: ${p.manager} ${p.name}`} a={p.from ?? <span class="note">absent</span>} b={p.to ?? <span class="note">absent</span>} changed />
                ))}
                <Section title="steps and artifacts" same={!d.differs.includes('artifacts')} />
                {d.steps.map((s) => (
                  <>
                    <Pair
                      key={s.step}
                      k={<strong>{s.step}</strong>}
                      a={
                        <>
                          <Status status={s.status.from ?? '–'} /> {s.tasks.from} tasks, {duration(s.durationMs.from)}
                        </>
                      }
                      b={
                        <>
                          <Status status={s.status.to ?? '–'} /> {s.tasks.to} tasks, {duration(s.durationMs.to)}
                        </>
                      }
                      changed={s.status.from !== s.status.to || s.tasks.from !== s.tasks.to}
                    />
                    {s.artifacts.map((c) => {
                      const [from, to] = c.detail?.includes(' → ') ? c.detail.split(' → ') : [short(c.from, 12), short(c.to, 12)];
                      return (
                        <Pair
                          key={`${c.task}:${c.artifact}`}
                          k={
                            <span class="indent">
                              {c.task} <code>{c.artifact}</code>
                            </span>
                          }
                          a={c.kind === 'added' ? <span class="note">absent</span> : <code>{from}</code>}
                          b={c.kind === 'removed' ? <span class="note">absent</span> : <code>{to}</code>}
                          changed
                          rowClass="artifact-change"
                        />
                      );
                    })}
                    {s.onlyInA.length || s.onlyInB.length ? <Pair key={`${s.step}-only`} k={<span class="indent">tasks in one run only</span>} a={s.onlyInA.join(', ') || '–'} b={s.onlyInB.join(', ') || '–'} changed /> : null}
                  </>
                ))}
              </tbody>
            </table>
            {d.code.patches && Object.keys(d.code.patches).length ? (
              <>
                <h2>Code changes</h2>
                {Object.entries(d.code.patches).map(([f, p]) => (
                  <div key={f}>
                    <h3>{f}</h3>
                    <PatchView patch={p} />
                  </div>
                ))}
              </>
            ) : null}
          </>
        )}
      </Load>
    </section>
  );
}

function Section({ title, same }: { title: string; same: boolean }) {
  return (
    <tr class="section">
      <th colSpan={3}>
        {title} {same ? <span class="note">identical</span> : <span class="differs">differs</span>}
      </th>
    </tr>
  );
}

function Pair({ k, a, b, changed, rowClass }: { k: ComponentChildren; a: ComponentChildren; b: ComponentChildren; changed?: boolean; rowClass?: string }) {
  return (
    <tr class={`${changed ? 'changed' : ''} ${rowClass ?? ''}`}>
      <th>{k}</th>
      <td class="side-a">{a}</td>
      <td class="side-b">{b}</td>
    </tr>
  );
}

/** A unified diff as two columns: old on the left, new on the right, unchanged lines on both. */
export function PatchView({ patch }: { patch: string }) {
  const rows: Array<[string | null, string | null, string]> = [];
  let minus: string[] = [];
  let plus: string[] = [];
  const flush = () => {
    for (let i = 0; i < Math.max(minus.length, plus.length); i++) rows.push([minus[i] ?? null, plus[i] ?? null, 'chg']);
    minus = [];
    plus = [];
  };
  for (const line of patch.split('\n')) {
    if (line.startsWith('---') || line.startsWith('+++') || line.startsWith('====') || line.startsWith('Index:') || line.startsWith('diff ') || line.startsWith('index ')) continue;
    if (line.startsWith('@@')) {
      flush();
      rows.push([line, line, 'hunk']);
      continue;
    }
    if (line.startsWith('-')) {
      minus.push(line.slice(1));
      continue;
    }
    if (line.startsWith('+')) {
      plus.push(line.slice(1));
      continue;
    }
    flush();
    if (line.startsWith('\\')) continue;
    rows.push([line.slice(1), line.slice(1), 'same']);
  }
  flush();
  return (
    <table class="patch">
      <tbody>
        {rows.map(([l, r, kind], i) => (
          <tr key={i} class={kind}>
            <td class={kind === 'chg' && l !== null ? 'del' : undefined}>
              <pre>{l ?? ''}</pre>
            </td>
            <td class={kind === 'chg' && r !== null ? 'add' : undefined}>
              <pre>{r ?? ''}</pre>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
