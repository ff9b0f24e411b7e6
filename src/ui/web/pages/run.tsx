import { runPath, stepPath, taskPath } from '../api.js';
import { Crumbs, ErrorBox, Facts, Load, type Loaded, Status, duration, short, useJson, when } from '../components/common.js';
import { Dag } from '../components/dag.js';
import { Timeline } from '../components/timeline.js';
import type { RunModel, TimelineModel } from '../types.js';
import { ReplayMark } from './runs.js';

/** One run: its facts, the DAG with each step's state, and the timeline of every attempt. */
export function RunPage({ run }: { run: string }) {
  const loaded = useJson<RunModel>(`/api/runs/${encodeURIComponent(run)}`, 1500, (m) => m.record.status === 'running');
  // Asked for at once with the run: the server reads the task records once for both.
  const timeline = useJson<TimelineModel>(`/api/runs/${encodeURIComponent(run)}/timeline`, 2000, (t) => t.live);
  return (
    <section>
      <Crumbs
        items={[
          ['runs', '/'],
          [run, undefined],
        ]}
      />
      <Load loaded={loaded}>{(m) => <RunView m={m} timeline={timeline} />}</Load>
    </section>
  );
}

function RunView({ m, timeline }: { m: RunModel; timeline: Loaded<TimelineModel> }) {
  const r = m.record;
  const user = typeof r.user === 'string' ? r.user : undefined;
  return (
    <>
      <h1>
        {r.id} <span class="flow-name">{r.flow}</span> <Status status={r.status} />
        {r.replayOf ? <ReplayMark of={r.replayOf} id={r.id} verdict={r.verdict} /> : null}
      </h1>
      {r.error ? (
        <div class="error-box">
          Failed at <a href={r.error.task ? taskPath(r.id, r.error.task.split('/')[0]!, r.error.task.split('/')[1]!) : '#'}>{r.error.task}</a>: <strong>{r.error.code}</strong> {r.error.message}
        </div>
      ) : null}
      <div class="run-grid">
        <div>
          <Facts
            rows={[
              ['flow file', <code>{r.file}</code>],
              ['started', `${when(r.started)} (${duration(r.durationMs)})`],
              [
                'params',
                Object.keys(r.params).length ? (
                  <table class="kv">
                    {Object.entries(r.params).map(([k, v]) => (
                      <tr key={k}>
                        <th>{k}</th>
                        <td>
                          <code>{JSON.stringify(v)}</code>
                        </td>
                      </tr>
                    ))}
                  </table>
                ) : (
                  '(none)'
                ),
              ],
              ['seed', <code>{r.seed}</code>],
              [
                'git',
                r.git ? (
                  <span>
                    <code>{short(r.git.commit, 12)}</code>
                    {r.git.branch ? ` on ${r.git.branch}` : ''}
                    {r.git.dirty ? (
                      <>
                        {' '}
                        <span class="dirty">+dirty</span> (<a href={`${runPath(r.id)}/patch`}>patch</a>)
                      </>
                    ) : (
                      ' (clean)'
                    )}
                  </span>
                ) : (
                  '(no git)'
                ),
              ],
              [
                'code',
                r.code ? (
                  <a href={`${runPath(r.id)}/code`}>
                    {r.code.files} files, package {short(r.code.hash, 12)}
                  </a>
                ) : (
                  '(no code package)'
                ),
              ],
              ['environment', r.env ? `node ${r.env.node}, flowrun ${r.env.flowrun}, ${r.env.os}/${r.env.arch}${r.env.lockfile ? `, ${r.env.lockfile.name} ${short(r.env.lockfile.hash, 10)}` : ''}` : `node ${r.node}`],
              [
                'env locks',
                r.envLocks ? (
                  <table class="kv">
                    {Object.entries(r.envLocks).map(([s, h]) => (
                      <tr key={s}>
                        <th>{s}</th>
                        <td>
                          <code>{short(h, 12)}</code>
                          {r.stepEnvs?.[s] ? ' @npm' : r.condaEnvs?.[s] ? ' @conda' : ''}
                        </td>
                      </tr>
                    ))}
                  </table>
                ) : (
                  '–'
                ),
              ],
              [
                'tags',
                r.tags.length
                  ? r.tags.map((t) => (
                      <a key={t} class="tag" href={`/?tag=${encodeURIComponent(t)}`}>
                        {t}
                      </a>
                    ))
                  : '(none)',
              ],
              ...(user ? [['user', user] as [string, string]] : []),
              ...(r.cache ? [['step cache', `reused ${r.cache.local + r.cache.remote} of ${m.tasks} tasks (${r.cache.local} here, ${r.cache.remote} from the mirror), filed ${r.cache.filled}`] as [string, string]] : []),
              ...(r.origin
                ? [
                    [
                      'resumes',
                      <a href={runPath(r.origin.run)}>
                        {r.origin.run} from {r.origin.step}
                      </a>,
                    ] as [string, preact.ComponentChildren],
                  ]
                : []),
              ...(r.replayOf
                ? [
                    [
                      'replay of',
                      <span>
                        <a href={runPath(r.replayOf)}>{r.replayOf}</a> · <a href={`${runPath(r.id)}/replay`}>report</a> · <a href={`/diff/${encodeURIComponent(r.replayOf)}/${encodeURIComponent(r.id)}`}>diff</a>
                      </span>,
                    ] as [string, preact.ComponentChildren],
                  ]
                : []),
            ]}
          />
        </div>
        <div>
          <h2>DAG</h2>
          <Dag run={r.id} dag={m.dag} />
          {m.dag.source === 'records' ? <p class="hint">Drawn from the task records (the run has no readable flow file in its code package).</p> : null}
        </div>
      </div>
      <h2>Steps</h2>
      <table class="grid steps">
        <thead>
          <tr>
            <th>step</th>
            <th>type</th>
            <th>state</th>
            <th>tasks</th>
            <th>ok</th>
            <th>failed</th>
            <th>running</th>
            {r.cache ? <th>cached</th> : null}
          </tr>
        </thead>
        <tbody>
          {m.dag.nodes.map((n) => (
            <tr key={n.name} data-step={n.name}>
              <td>
                <a href={stepPath(r.id, n.name)}>{n.name}</a>
              </td>
              <td>
                {n.type}
                {n.foreach ? ` (foreach ${n.foreach})` : ''}
                {n.decorators.length ? <span class="note"> {n.decorators.map((d) => `@${d}`).join(' ')}</span> : null}
              </td>
              <td>
                <Status status={n.state} />
              </td>
              <td>
                {n.tasks}
                {n.expected !== undefined ? ` / ${n.expected}` : ''}
              </td>
              <td>{n.ok}</td>
              <td>{n.failed}</td>
              <td>{n.running}</td>
              {r.cache ? <td>{n.cached ?? 0}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
      {m.running.length ? (
        <p>
          Running now:{' '}
          {m.running.map((t) => (
            <a key={`${t.step}/${t.id}`} class="tag" href={taskPath(r.id, t.step, t.id)}>
              {t.step}/{t.id}
              {t.attempt ? ` (attempt ${t.attempt})` : ''}
            </a>
          ))}
        </p>
      ) : null}
      <h2>Timeline</h2>
      {timeline.state === 'ok' ? <Timeline run={r.id} model={timeline.data} /> : timeline.state === 'error' ? <ErrorBox error={timeline.error} /> : <p class="loading">Loading…</p>}
    </>
  );
}
