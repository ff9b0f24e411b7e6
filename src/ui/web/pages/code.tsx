import { runPath } from '../api.js';
import { Crumbs, Load, bytes, short, useJson } from '../components/common.js';
import { Code } from '../components/viewers.js';
import { PatchView } from './diff.js';

interface Listing {
  run: string;
  hash: string;
  flowFile: string;
  files: Array<{ path: string; size: number; executable: boolean }>;
  git: { commit: string | null; dirty: boolean } | null;
  hasPatch: boolean;
}

/** The run's code package: its files, one file's text, and the uncommitted changes it was made with. */
export function CodePage({ run, path }: { run: string; path?: string }) {
  const listing = useJson<Listing>(`/api/runs/${encodeURIComponent(run)}/code`);
  const base = `${runPath(run)}/code`;
  return (
    <section>
      <Crumbs items={[['runs', '/'], [run, runPath(run)], ['code', path ? base : undefined], ...(path ? [[path, undefined] as [string, undefined]] : [])]} />
      <Load loaded={listing}>
        {(l) => (
          <div class="code-browser">
            <aside class="file-list">
              <p class="note">
                {l.files.length} files · package {short(l.hash, 12)}
                {l.git ? ` · commit ${short(l.git.commit, 10)}` : ''}
                {l.hasPatch ? (
                  <>
                    {' '}
                    · <a href={`${runPath(run)}/patch`}>dirty patch</a>
                  </>
                ) : null}
              </p>
              <ul>
                {l.files.map((f) => (
                  <li key={f.path} class={f.path === path ? 'on' : undefined}>
                    <a href={`${base}?path=${encodeURIComponent(f.path)}`}>{f.path}</a>{' '}
                    <span class="note">
                      {bytes(f.size)}
                      {f.executable ? ' x' : ''}
                      {f.path === l.flowFile ? ' · flow' : ''}
                    </span>
                  </li>
                ))}
              </ul>
            </aside>
            <div class="file-view">{path ? <FileView run={run} path={path} /> : <FileView run={run} path={l.flowFile} />}</div>
          </div>
        )}
      </Load>
    </section>
  );
}

function FileView({ run, path }: { run: string; path: string }) {
  const file = useJson<{ path: string; size: number; text?: string; binary?: boolean; tooLarge?: boolean }>(`/api/runs/${encodeURIComponent(run)}/code/file?path=${encodeURIComponent(path)}`);
  return (
    <Load loaded={file}>
      {(f) => (
        <>
          <h2>
            {f.path} <span class="note">{bytes(f.size)}</span>
          </h2>
          {f.text !== undefined ? (
            <Code text={f.text} />
          ) : (
            <p class="note">
              {f.binary ? 'A binary file.' : 'Too large to show.'} Extract it with <code>flow code {run} --extract DIR</code>.
            </p>
          )}
        </>
      )}
    </Load>
  );
}

export function PatchPage({ run }: { run: string }) {
  const patch = useJson<{ run: string; commit: string | null; patch: string | null }>(`/api/runs/${encodeURIComponent(run)}/patch`);
  return (
    <section>
      <Crumbs
        items={[
          ['runs', '/'],
          [run, runPath(run)],
          ['dirty patch', undefined],
        ]}
      />
      <Load loaded={patch}>
        {(p) => (
          <>
            <h1>
              Uncommitted changes of {run} <span class="note">against {short(p.commit, 12)}</span>
            </h1>
            {p.patch ? <PatchView patch={p.patch} /> : <p class="empty">The run was made from a clean work tree.</p>}
          </>
        )}
      </Load>
    </section>
  );
}
