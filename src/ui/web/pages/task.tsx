import { useEffect, useRef, useState } from 'preact/hooks';
import { getJson, runPath, seg, stepPath, taskPath } from '../api.js';
import { Crumbs, ErrorBox, Facts, Load, Status, bytes, duration, short, useJson, when } from '../components/common.js';
import { ArtifactViewer, Code } from '../components/viewers.js';
import { navigate } from '../router.js';
import type { ArtifactView, TaskModel } from '../types.js';

const api = (run: string, step: string, task: string) => `/api${taskPath(run, step, task)}`;

/** One task: attempts, logs (tailed live while it runs), artifacts, cards and the step's code. */
export function TaskPage({ run, step, task, query }: { run: string; step: string; task: string; query: URLSearchParams }) {
  const loaded = useJson<TaskModel>(api(run, step, task), 1500, (m) => !m.record);
  return (
    <section>
      <Crumbs
        items={[
          ['runs', '/'],
          [run, runPath(run)],
          [step, stepPath(run, step)],
          [task, undefined],
        ]}
      />
      <Load loaded={loaded}>{(m) => <TaskView m={m} query={query} />}</Load>
    </section>
  );
}

function TaskView({ m, query }: { m: TaskModel; query: URLSearchParams }) {
  const path = taskPath(m.run.id, m.step, m.id);
  const lastAttempt = m.attempts.at(-1)?.attempt ?? m.live?.attempt ?? 0;
  const asked = query.get('attempt');
  const attempt = asked !== null && /^\d+$/.test(asked) ? Number(asked) : lastAttempt;
  const rec = m.record;
  return (
    <>
      <h1>
        {m.step}/{m.id}{' '}
        <span class="flow-name">
          {m.run.flow} · {m.run.id}
        </span>{' '}
        <Status status={rec ? rec.status : 'running'} />
      </h1>
      <Facts
        rows={[
          [
            'parents',
            rec?.parents.length
              ? rec.parents.map((p) => {
                  const [s, id] = p.split('/');
                  return (
                    <a key={p} class="tag" href={taskPath(m.run.id, s!, id!)}>
                      {p}
                    </a>
                  );
                })
              : '(none)',
          ],
          ...(rec?.stack.length ? [['foreach', rec.stack.map((f) => `${f.step}[${f.index} of ${f.count}]`).join(' › ')] as [string, string]] : []),
          ...(rec?.next ? [['next', `${rec.next.targets.join(', ')}${rec.next.foreach ? ` (foreach ${rec.next.foreach}, ${rec.next.count ?? '?'} splits)` : ''}`] as [string, string]] : []),
          ...(rec?.clonedFrom ? [['cloned from', rec.clonedFrom] as [string, string]] : []),
          ...(rec?.cachedFrom
            ? [
                [
                  'reused from cache',
                  (() => {
                    const [r, st, id] = rec.cachedFrom.split('/');
                    return <a href={taskPath(r!, st!, id!)}>{rec.cachedFrom}</a>;
                  })(),
                ] as [string, preact.ComponentChildren],
              ]
            : []),
          ...(rec?.caught ? [['caught error', `${rec.caught.code}: ${rec.caught.message}`] as [string, string]] : []),
        ]}
      />
      <h2>Attempts</h2>
      <div class="tabs" role="tablist">
        {m.attempts.map((a) => (
          <a key={a.attempt} role="tab" aria-selected={a.attempt === attempt} class={`tab${a.attempt === attempt ? ' on' : ''}`} href={`${path}?attempt=${a.attempt}`}>
            attempt {a.attempt} <Status status={a.status} /> {duration(a.durationMs)}
          </a>
        ))}
        {m.live && !m.attempts.some((a) => a.attempt === m.live!.attempt) ? (
          <a role="tab" aria-selected={attempt === m.live.attempt} class={`tab${attempt === m.live.attempt ? ' on' : ''}`} href={`${path}?attempt=${m.live.attempt}`}>
            attempt {m.live.attempt} <Status status="running" />
          </a>
        ) : null}
      </div>
      {m.attempts
        .filter((a) => a.attempt === attempt)
        .map((a) => (
          <div key={a.attempt} class="attempt-facts">
            {when(a.started)} → {when(a.finished)}
            {a.error ? (
              <div class="error-box">
                <strong>{a.error.code}</strong>: {a.error.message}
                {a.error.fix ? <div class="fix">Fix: {a.error.fix}</div> : null}
              </div>
            ) : null}
          </div>
        ))}
      <h2>Logs</h2>
      {m.live && m.live.attempt === attempt ? <LiveLogs m={m} attempt={attempt} /> : <StoredLogs m={m} attempt={attempt} />}
      {m.cards.length ? <h2>Card{m.cards.length > 1 ? 's' : ''}</h2> : null}
      {m.cards.map((c) => (
        <CardFrame key={c.hash} src={`/cards/${seg(m.run.id)}/${seg(m.step)}/${seg(m.id)}?id=${encodeURIComponent(c.id)}`} title={c.title ?? c.id} />
      ))}
      <h2>Artifacts</h2>
      {m.artifacts.length === 0 ? <p class="empty">{rec ? 'No artifacts.' : 'Artifacts are stored when the task ends.'}</p> : <Artifacts m={m} query={query} />}
      {m.code ? (
        <>
          <h2>
            Code{' '}
            <span class="note">
              {m.code.file}:{m.code.line}–{m.code.endLine} from the run's code package
            </span>
          </h2>
          <Code text={m.code.text} first={m.code.line} />
        </>
      ) : null}
    </>
  );
}

function StoredLogs({ m, attempt }: { m: TaskModel; attempt: number }) {
  const logs = useJson<{ attempt: number; stdout: string; stderr: string; cut: { stdout: number; stderr: number } }>(`${api(m.run.id, m.step, m.id)}/logs?attempt=${attempt}`);
  if (!m.record) return <p class="loading">Waiting for the task's output…</p>;
  return (
    <Load loaded={logs}>
      {(l) => (
        <div class="logs">
          <LogBlock name="stdout" text={l.stdout} cut={l.cut.stdout} />
          <LogBlock name="stderr" text={l.stderr} cut={l.cut.stderr} />
        </div>
      )}
    </Load>
  );
}

function LogBlock({ name, text, cut }: { name: string; text: string; cut: number }) {
  return (
    <div class={`log log-${name}`}>
      <div class="log-head">
        {name}
        {cut ? ` (first ${cut} characters not shown)` : ''}
      </div>
      {text ? <pre>{text}</pre> : <p class="empty">(empty)</p>}
    </div>
  );
}

/** Polls the running attempt's output and appends what is new: a `tail -f` of stdout and stderr. */
function LiveLogs({ m, attempt }: { m: TaskModel; attempt: number }) {
  const [text, setText] = useState({ stdout: '', stderr: '' });
  const offsets = useRef({ stdout: 0, stderr: 0 });
  useEffect(() => {
    let stop = false;
    let timer: number | undefined;
    offsets.current = { stdout: 0, stderr: 0 };
    setText({ stdout: '', stderr: '' });
    type Part = { text: string; next: number } | null;
    const poll = async () => {
      try {
        const r = await getJson<{ stdout: Part; stderr: Part }>(`${api(m.run.id, m.step, m.id)}/live?attempt=${attempt}&stdout=${offsets.current.stdout}&stderr=${offsets.current.stderr}`);
        if (stop) return;
        const add = { stdout: r.stdout?.text ?? '', stderr: r.stderr?.text ?? '' };
        if (r.stdout) offsets.current.stdout = r.stdout.next;
        if (r.stderr) offsets.current.stderr = r.stderr.next;
        if (add.stdout || add.stderr) setText((t) => ({ stdout: t.stdout + add.stdout, stderr: t.stderr + add.stderr }));
      } catch {
        /* the task ended: the page reloads its record */
      }
      if (!stop) timer = window.setTimeout(poll, 1000);
    };
    void poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [m.run.id, m.step, m.id, attempt]);
  return (
    <div class="logs live">
      <p class="note">Running: the output so far, updated every second.</p>
      <LogBlock name="stdout" text={text.stdout} cut={0} />
      <LogBlock name="stderr" text={text.stderr} cut={0} />
    </div>
  );
}

function Artifacts({ m, query }: { m: TaskModel; query: URLSearchParams }) {
  const picked = query.get('artifact');
  const produced = m.artifacts
    .filter((a) => !a.inherited)
    .slice(0, 5)
    .map((a) => a.name);
  const shown = new Set(picked ? [picked] : produced);
  const path = taskPath(m.run.id, m.step, m.id);
  return (
    <div class="artifacts">
      <table class="grid">
        <thead>
          <tr>
            <th>artifact</th>
            <th>size</th>
            <th>hash</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {m.artifacts.map((a) => (
            <tr key={a.name} data-artifact={a.name}>
              <td>
                <a
                  href={`${path}?artifact=${encodeURIComponent(a.name)}`}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(`${path}?artifact=${encodeURIComponent(a.name)}`, true);
                  }}
                >
                  {a.name}
                </a>
              </td>
              <td>{bytes(a.size)}</td>
              <td>
                <code>{short(a.hash, 12)}</code>
              </td>
              <td class="note">{a.inherited ? 'inherited' : 'set here'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {[...shown]
        .filter((n) => m.artifacts.some((a) => a.name === n))
        .map((n) => (
          <ArtifactPanel key={n} m={m} name={n} />
        ))}
    </div>
  );
}

function ArtifactPanel({ m, name }: { m: TaskModel; name: string }) {
  const base = `${api(m.run.id, m.step, m.id)}/artifacts/${seg(name)}`;
  const loaded = useJson<{ name: string; size: number; view: ArtifactView }>(base);
  return (
    <div class="artifact-panel" data-artifact-view={name}>
      <h3>{name}</h3>
      {loaded.state === 'error' ? <ErrorBox error={loaded.error} /> : loaded.state === 'ok' ? <ArtifactViewer view={loaded.data.view} rawUrl={`${base}/raw`} name={name} /> : <p class="loading">Loading…</p>}
    </div>
  );
}

/** A card is a sandboxed document of its own (no script runs in it); the frame grows to fit it. */
function CardFrame({ src, title }: { src: string; title: string }) {
  const frame = useRef<HTMLIFrameElement>(null);
  const fit = () => {
    const doc = frame.current?.contentDocument;
    if (doc?.documentElement) frame.current!.style.height = `${doc.documentElement.scrollHeight + 4}px`;
  };
  return (
    <div class="card-frame">
      <div class="card-head">
        {title} ·{' '}
        <a href={src} target="_blank" rel="noopener">
          open on its own
        </a>
      </div>
      <iframe ref={frame} src={src} title={`card ${title}`} sandbox="allow-same-origin" onLoad={fit} />
    </div>
  );
}
