import { runPath, taskPath } from '../api.js';
import { Crumbs, Load, Status, duration, useJson } from '../components/common.js';
import { VirtualList } from '../components/virtual-list.js';

interface StepModel {
  run: string;
  flow: string;
  step: string;
  status: string;
  tasks: Array<[string, string, number, number, number]>;
}

/** A step's tasks (virtualized: a 10,000-split foreach scrolls as fast as 10). */
export function StepPage({ run, step }: { run: string; step: string }) {
  const loaded = useJson<StepModel>(`/api/runs/${encodeURIComponent(run)}/steps/${encodeURIComponent(step)}`, 2000, (m) => m.status === 'running');
  return (
    <section>
      <Crumbs
        items={[
          ['runs', '/'],
          [run, runPath(run)],
          [step, undefined],
        ]}
      />
      <Load loaded={loaded}>
        {(m) => (
          <>
            <h1>
              {step} <span class="flow-name">{m.flow}</span>
            </h1>
            <p>
              {m.tasks.length} task{m.tasks.length === 1 ? '' : 's'}; {m.tasks.filter((t) => t[1] !== 'ok').length} failed.
            </p>
            <div class="vhead">
              <span>task</span>
              <span>status</span>
              <span>attempts</span>
              <span>duration</span>
              <span>artifacts</span>
            </div>
            <VirtualList
              count={m.tasks.length}
              rowHeight={26}
              height={560}
              row={(i) => {
                const [id, status, attempts, ms, artifacts] = m.tasks[i]!;
                return (
                  <a class="vcells" href={taskPath(run, step, id)} data-task={id}>
                    <span>
                      {step}/{id}
                    </span>
                    <span>
                      <Status status={status} />
                    </span>
                    <span>{attempts}</span>
                    <span>{duration(ms)}</span>
                    <span>{artifacts}</span>
                  </a>
                );
              }}
            />
          </>
        )}
      </Load>
    </section>
  );
}
