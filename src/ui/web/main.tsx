import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { CodePage, PatchPage } from './pages/code.js';
import { DiffPage } from './pages/diff.js';
import { ReplayPage } from './pages/replay.js';
import { RunPage } from './pages/run.js';
import { RunsPage } from './pages/runs.js';
import { StepPage } from './pages/step.js';
import { TaskPage } from './pages/task.js';
import { type Route, interceptLinks, onNavigate, parseRoute } from './router.js';

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'runs':
      return <RunsPage query={route.query} />;
    case 'run':
      return <RunPage run={route.run} />;
    case 'step':
      return <StepPage run={route.run} step={route.step} />;
    case 'task':
      return <TaskPage run={route.run} step={route.step} task={route.task} query={route.query} />;
    case 'code':
      return <CodePage run={route.run} path={route.path} />;
    case 'patch':
      return <PatchPage run={route.run} />;
    case 'replay':
      return <ReplayPage run={route.run} />;
    case 'diff':
      return <DiffPage a={route.a} b={route.b} />;
    case 'not-found':
      return (
        <section>
          <h1>Not found</h1>
          <p>
            There is no page at <code>{route.path}</code>. <a href="/">All runs</a>.
          </p>
        </section>
      );
  }
}

function titleOf(r: Route): string {
  switch (r.page) {
    case 'runs':
      return 'runs';
    case 'run':
      return r.run;
    case 'step':
      return `${r.run}/${r.step}`;
    case 'task':
      return `${r.run}/${r.step}/${r.task}`;
    case 'diff':
      return `diff ${r.a} ${r.b}`;
    case 'not-found':
      return 'not found';
    default:
      return `${r.run} ${r.page}`;
  }
}

function App() {
  const [url, setUrl] = useState(() => location.href);
  useEffect(() => onNavigate(() => setUrl(location.href)), []);
  const route = parseRoute(new URL(url));
  useEffect(() => {
    document.title = `${titleOf(route)} · flow ui`;
  }, [url]);
  return (
    <>
      <header class="top">
        <a href="/" class="brand">
          flow ui
        </a>
        <span class="note">read-only view of the store</span>
      </header>
      <main key={route.page === 'task' || route.page === 'runs' ? `${route.page}:${new URL(url).pathname}` : url}>
        <Page route={route} />
      </main>
    </>
  );
}

interceptLinks();
const root = document.getElementById('app')!;
root.textContent = ''; // the server's "Loading…" placeholder
render(<App />, root);
