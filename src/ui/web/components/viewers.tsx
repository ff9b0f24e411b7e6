import type { ArtifactView, Cell } from '../types.js';
import { bytes } from './common.js';

/** One artifact shown by the viewer its value fits; every value is text in the DOM, never markup. */
export function ArtifactViewer({ view, rawUrl, name }: { view: ArtifactView; rawUrl: string; name: string }) {
  switch (view.kind) {
    case 'scalar':
      return (
        <div class="scalar">
          <code>{view.text}</code> <span class="note">{view.type}</span>
        </div>
      );
    case 'text':
      return (
        <pre class="text-view">
          {view.text}
          {view.truncated ? `\n… (${view.length} characters in all)` : ''}
        </pre>
      );
    // An <img> never runs script: an SVG's <script> and event handlers stay inert.
    case 'image':
      return (
        <div class="image-view">
          <img src={rawUrl} alt={name} />
          <div class="note">
            {view.mime}, {bytes(view.bytes)}
          </div>
        </div>
      );
    case 'table':
      return <DataTable columns={view.columns} rows={view.rows} note={view.truncated ? `first ${view.rows.length} of ${view.totalRows} rows` : `${view.totalRows} rows`} />;
    case 'json':
      return (
        <div class="json-view">
          <span class="note">
            {view.type}
            {view.truncated ? ' (cut)' : ''}
          </span>
          <JsonTree value={view.value} open={2} />
        </div>
      );
    case 'binary':
      return (
        <div>
          <span class="note">
            {view.type}, {bytes(view.bytes)}
          </span>
          <pre class="text-view">
            {view.head.replace(/(..)/g, '$1 ')}
            {view.bytes > 64 ? '…' : ''}
          </pre>
        </div>
      );
    case 'too-large':
      return (
        <p class="note">
          {bytes(view.size)}: too large to show here; read it with <code>flow get</code>.
        </p>
      );
  }
}

export function DataTable({ columns, rows, note }: { columns: string[]; rows: Cell[][]; note?: string }) {
  return (
    <div class="table-view">
      <div class="table-scroll">
        <table class="grid data">
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                {r.map((c, j) => (
                  <td key={j} class={typeof c === 'number' ? 'num' : undefined}>
                    {c === null ? '' : String(c)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {note ? <div class="note">{note}</div> : null}
    </div>
  );
}

/** A collapsible JSON tree (native <details>: no script needed to fold). */
export function JsonTree({ value, open, name }: { value: unknown; open: number; name?: string }) {
  const label = name !== undefined ? <span class="key">{name}: </span> : null;
  if (value === null || typeof value !== 'object') {
    return (
      <div class="json-leaf">
        {label}
        <span class={`j-${value === null ? 'null' : typeof value}`}>{typeof value === 'string' ? JSON.stringify(value) : String(value)}</span>
      </div>
    );
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>);
  const brackets = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  return (
    <details class="json-node" open={open > 0}>
      <summary>
        {label}
        {brackets[0]}
        {entries.length} {Array.isArray(value) ? 'items' : 'keys'}
        {brackets[1]}
      </summary>
      <div class="json-children">
        {entries.map(([k, v]) => (
          <JsonTree key={k} name={k} value={v} open={open - 1} />
        ))}
      </div>
    </details>
  );
}

/** Source text with line numbers, starting at `first`. */
export function Code({ text, first = 1, highlight }: { text: string; first?: number; highlight?: [number, number] }) {
  const lines = text.split('\n');
  return (
    <pre class="code">
      <code>
        {lines.map((l, i) => {
          const n = first + i;
          const hot = highlight && n >= highlight[0] && n <= highlight[1];
          return (
            <span key={i} class={`line${hot ? ' hot' : ''}`} id={`L${n}`}>
              <span class="ln">{n}</span>
              {l}
              {'\n'}
            </span>
          );
        })}
      </code>
    </pre>
  );
}
