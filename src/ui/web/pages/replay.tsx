import { runPath, seg, taskPath } from '../api.js';
import { Crumbs, Load, Status, short, useJson } from '../components/common.js';
import type { Verdict } from '../types.js';

interface Report {
  replay: string;
  original: string;
  status: string;
  verdict: Verdict;
  steps: Array<{ step: string; reproduced: number; diverged: number; missing: number }>;
  problems: Array<{ task: string; artifact: string; status: string; expected: string; got?: string }>;
}

/** A replay's report: did it reproduce its original bit for bit, and where not. */
export function ReplayPage({ run }: { run: string }) {
  const loaded = useJson<Report>(`/api/runs/${seg(run)}/replay`);
  return (
    <section>
      <Crumbs
        items={[
          ['runs', '/'],
          [run, runPath(run)],
          ['replay report', undefined],
        ]}
      />
      <Load loaded={loaded}>
        {(r) => {
          const v = r.verdict;
          const total = v.artifacts.reproduced + v.artifacts.diverged + v.artifacts.missing;
          return (
            <>
              <h1>
                {r.replay}: replay of <a href={runPath(r.original)}>{r.original}</a> <Status status={r.status} />
              </h1>
              <p class={`verdict ${v.reproduced ? 'same' : 'differs'}`}>
                {v.reproduced ? `✓ reproduced ${r.original} bit for bit: ${total} of ${total} artifacts match` : `✗ did NOT reproduce ${r.original}: ${v.artifacts.diverged} diverged, ${v.artifacts.missing} missing, ${v.artifacts.reproduced} reproduced of ${total} artifacts`}
              </p>
              {v.firstDivergence ? (
                <p>
                  First divergence: step <strong>{v.firstDivergence.step}</strong>, artifact <code>{v.firstDivergence.artifact}</code> ({v.firstDivergence.task}, {v.firstDivergence.kind}). <a href={`/diff/${seg(r.original)}/${seg(r.replay)}`}>Compare the two runs</a>.
                </p>
              ) : null}
              <table class="grid">
                <thead>
                  <tr>
                    <th>step</th>
                    <th>reproduced</th>
                    <th>diverged</th>
                    <th>missing</th>
                  </tr>
                </thead>
                <tbody>
                  {r.steps.map((s) => (
                    <tr key={s.step}>
                      <td>{s.step}</td>
                      <td>
                        {s.reproduced}/{s.reproduced + s.diverged + s.missing}
                      </td>
                      <td>{s.diverged}</td>
                      <td>{s.missing}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {r.problems.length ? (
                <>
                  <h2>Artifacts that did not reproduce</h2>
                  <table class="grid">
                    <thead>
                      <tr>
                        <th>task</th>
                        <th>artifact</th>
                        <th></th>
                        <th>expected</th>
                        <th>got</th>
                      </tr>
                    </thead>
                    <tbody>
                      {r.problems.map((p) => {
                        const [s, id] = p.task.split('/');
                        return (
                          <tr key={`${p.task}:${p.artifact}`}>
                            <td>
                              <a href={taskPath(r.replay, s!, id!)}>{p.task}</a>
                            </td>
                            <td>
                              <code>{p.artifact}</code>
                            </td>
                            <td>{p.status}</td>
                            <td>
                              <code>{short(p.expected, 12)}</code>
                            </td>
                            <td>
                              <code>{short(p.got, 12)}</code>
                            </td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                </>
              ) : null}
            </>
          );
        }}
      </Load>
    </section>
  );
}
