import { viewOf } from '../model/artifact-view.js';
import { FLOWRUN_VERSION } from '../../util/package-info.js';
import type { CardDoc, CardPart } from '../../cards/card.js';
import { loadMarkdown, loadVega } from './vendor.js';

/** What rendering needs besides the card: its images' bytes and the task's artifacts. */
export interface CardSources {
  object(hash: string): Buffer;
  artifactNames(): string[];
  artifact(name: string): Promise<unknown>;
}

/**
 * A card as one self-contained HTML document: styles inline, images and charts as data: URIs,
 * and no script at all (its Content-Security-Policy forbids any, and loading anything from
 * elsewhere). Charts are rendered here to SVG with Vega (expressions interpreted, never
 * eval'ed; data loading refused), shown through <img>.
 */
export async function renderCardHtml(doc: CardDoc, src: CardSources): Promise<string> {
  const parts = doc.parts.length > 0 ? doc.parts : src.artifactNames().map((name): CardPart => ({ type: 'artifact', name }));
  const body: string[] = [];
  for (const p of parts) body.push(await renderPart(p, src));
  const title = doc.title ?? `${doc.step} card`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · ${esc(doc.run)}/${esc(doc.step)}/${esc(doc.task)}</title>
<style>${CSS}</style></head>
<body><header><h1>${esc(title)}</h1><div class="where">${esc(doc.run)} / ${esc(doc.step)} / ${esc(doc.task)}</div></header>
<main>
${body.join('\n')}
</main>
<footer>Card of task ${esc(doc.run)}/${esc(doc.step)}/${esc(doc.task)} · flowrun ${esc(FLOWRUN_VERSION)}</footer>
</body></html>
`;
}

async function renderPart(p: CardPart, src: CardSources): Promise<string> {
  try {
    switch (p.type) {
      case 'markdown': {
        const { MarkdownIt } = await loadMarkdown();
        // html: false escapes raw HTML in the text; markdown-it refuses javascript:/data: links itself.
        // Images by URL are not fetched (a card loads nothing): append an Image part instead.
        return `<section class="part markdown">${new MarkdownIt({ html: false, linkify: false, typographer: false }).disable('image').render(p.text)}</section>`;
      }
      case 'table':
        return section('table', p.title, table(p.columns, p.rows));
      case 'image':
        return section('image', p.title, img(p.mime, src.object(p.object), p.alt ?? p.title ?? 'image'));
      case 'vega-lite':
        return section('chart', p.title, img('image/svg+xml', Buffer.from(await chartSvg(p.spec)), p.title ?? 'chart'));
      case 'artifact':
        return section('artifact', p.title ?? p.name, await artifact(p.name, src));
      case 'error':
        return errorBox(p.message);
    }
  } catch (e) {
    return errorBox(`${p.type === 'vega-lite' ? 'The chart' : `The ${p.type} part`} could not be rendered: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Vega-Lite → SVG, with nothing loaded from anywhere and no expression compiled to code. */
export async function chartSvg(spec: Record<string, unknown>): Promise<string> {
  const vega = await loadVega();
  const compiled = vega.compile(spec).spec;
  const loader = vega.loader();
  let refused: Error | undefined;
  const refuse = async (uri: string): Promise<never> => {
    refused ??= new Error(`a card chart cannot load ${JSON.stringify(uri)}: put its data inline (data: { values: [...] })`);
    throw refused;
  };
  loader.load = refuse;
  loader.sanitize = refuse;
  const view = new vega.View(vega.parse(compiled, undefined, { ast: true }), { renderer: 'none', loader, expr: vega.expressionInterpreter });
  try {
    const svg = await view.toSVG();
    // Vega logs a failed load and draws without the data: the card says why instead.
    if (refused) throw refused;
    return svg;
  } finally {
    view.finalize();
  }
}

async function artifact(name: string, src: CardSources): Promise<string> {
  if (!src.artifactNames().includes(name)) return errorBox(`The task has no artifact ${name}.`);
  const value = await src.artifact(name);
  const v = viewOf(value);
  switch (v.kind) {
    case 'scalar':
      return `<p class="scalar"><code>${esc(v.text)}</code> <span class="note">${esc(v.type)}</span></p>`;
    case 'text':
      return `<pre>${esc(v.text)}${v.truncated ? esc(`\n… (${v.length} characters in all)`) : ''}</pre>`;
    case 'image':
      return img(v.mime, Buffer.from(value as Uint8Array), name);
    case 'table':
      return table(v.columns, v.rows, v.truncated ? `first ${v.rows.length} of ${v.totalRows} rows` : undefined);
    case 'json':
      return `<pre>${esc(JSON.stringify(v.value, null, 2))}</pre>`;
    case 'binary':
      return `<p class="note">${esc(v.type)}, ${v.bytes} bytes</p>`;
  }
}

function section(kind: string, title: string | undefined, inner: string): string {
  return `<section class="part ${kind}">${title ? `<h2>${esc(title)}</h2>` : ''}${inner}</section>`;
}

function table(columns: string[], rows: Array<Array<string | number | boolean | null>>, note?: string): string {
  const head = columns.map((c) => `<th>${esc(c)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td${typeof c === 'number' ? ' class="num"' : ''}>${c === null ? '' : esc(String(c))}</td>`).join('')}</tr>`).join('\n');
  return `<div class="tbl"><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div><p class="note">${esc(note ?? `${rows.length} row${rows.length === 1 ? '' : 's'}`)}</p>`;
}

/** An image as a data: URI in <img>: an SVG's script or handlers never run there. */
function img(mime: string, bytes: Buffer, alt: string): string {
  return `<img src="data:${mime};base64,${bytes.toString('base64')}" alt="${esc(alt)}">`;
}

function errorBox(message: string): string {
  return `<div class="part error" role="alert">${esc(message)}</div>`;
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

const CSS = `
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d232b;background:#fff}
header{padding:14px 22px 8px;border-bottom:1px solid #e3e7ee;background:#f7f9fc}
header h1{margin:0;font-size:20px}.where{color:#667085;font-size:12.5px;font-family:ui-monospace,Menlo,monospace}
main{padding:8px 22px 20px;max-width:1200px}
.part{margin:14px 0}.part h2{font-size:15px;margin:0 0 6px}
.markdown h1{font-size:20px}.markdown h2{font-size:17px}.markdown code{background:#f3f4f6;padding:0 3px;border-radius:3px}
.tbl{max-height:520px;overflow:auto;border:1px solid #e3e7ee;border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:4px 10px;border-bottom:1px solid #eef1f5;text-align:left;white-space:nowrap}
thead th{position:sticky;top:0;background:#f7f9fc;color:#667085;font-size:12px}td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto}.image img{min-width:48px;image-rendering:pixelated}
pre{background:#fbfcfe;border:1px solid #e3e7ee;border-radius:6px;padding:8px;overflow:auto;max-height:480px;white-space:pre-wrap;font-size:12.5px}
.note{color:#667085;font-size:12px;margin:4px 0}
.error{background:#fdecea;color:#7a1d12;border:1px solid #f3b5ab;border-radius:6px;padding:8px 12px}
footer{color:#98a2b3;font-size:11.5px;padding:8px 22px 16px;border-top:1px solid #eef1f5}
`;
