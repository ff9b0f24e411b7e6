import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Artifact, Image, Markdown, Table, VegaChart, currentCard } from '../../src/cards/author.js';
import type { CardDoc } from '../../src/cards/card.js';
import { beginCard, finishCard, takeCard } from '../../src/cards/collect.js';
import { renderCardHtml } from '../../src/ui/cards/render.js';
import { LocalStore } from '../../src/store/local.js';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==', 'base64');
const TASK = { run: 'run-1', step: 'report', task: '0' };

function store(): LocalStore {
  return LocalStore.open(mkdtempSync(join(tmpdir(), 'flowrun-cards-')));
}

function stored(s: LocalStore, refs: ReturnType<typeof finishCard>): CardDoc {
  return JSON.parse(s.getObjectSync(refs![0]!.hash).toString('utf8')) as CardDoc;
}

const sources = (s: LocalStore, artifacts: Record<string, unknown> = {}) => ({
  object: (h: string) => s.getObjectSync(h),
  artifactNames: () => Object.keys(artifacts),
  artifact: async (n: string) => artifacts[n],
});

describe('cards', () => {
  it('stores the parts a step appended, content-addressed; images as objects of their own', () => {
    const s = store();
    beginCard({ title: 'Report' });
    currentCard.append(new Markdown('# Hi'));
    currentCard.append(
      new Table([
        { a: 1, b: 'x' },
        { a: 2, c: new Date(0) },
      ]),
    );
    currentCard.append(new Image(PNG, { title: 'img' }));
    currentCard.append(new VegaChart({ mark: 'point' }));
    currentCard.append(new Artifact('best'));
    const refs = finishCard(takeCard(), s, TASK);
    expect(refs).toEqual([{ id: 'default', hash: expect.stringMatching(/^[0-9a-f]{64}$/), title: 'Report' }]);
    const doc = stored(s, refs);
    expect(doc.parts.map((p) => p.type)).toEqual(['markdown', 'table', 'image', 'vega-lite', 'artifact']);
    expect(doc.parts[1]).toEqual({
      type: 'table',
      columns: ['a', 'b', 'c'],
      rows: [
        [1, 'x', null],
        [2, null, '1970-01-01T00:00:00.000Z'],
      ],
    });
    const image = doc.parts[2] as Extract<CardDoc['parts'][number], { type: 'image' }>;
    expect(image.mime).toBe('image/png');
    expect(s.getObjectSync(image.object).equals(PNG)).toBe(true);
    // The same card twice is the same object.
    beginCard({ title: 'Report' });
    currentCard.extend([
      new Markdown('# Hi'),
      new Table([
        { a: 1, b: 'x' },
        { a: 2, c: new Date(0) },
      ]),
      new Image(PNG, { title: 'img' }),
      new VegaChart({ mark: 'point' }),
      new Artifact('best'),
    ]);
    expect(finishCard(takeCard(), s, TASK)![0]!.hash).toBe(refs![0]!.hash);
  });

  it('turns parts that cannot be stored into errors on the card and never throws', () => {
    const s = store();
    beginCard(undefined);
    currentCard.append(
      new Table([
        {
          get broken(): number {
            throw new Error('getter exploded');
          },
        },
      ]),
    );
    currentCard.append(new Image(Buffer.from('not an image')));
    currentCard.append(new Markdown(42 as unknown as string));
    currentCard.append({ kind: 'nonsense', input: 1, options: {} } as never);
    currentCard.append(null as never);
    const refs = finishCard(takeCard(), s, TASK);
    expect(refs![0]!.errors).toBe(5);
    expect(stored(s, refs).parts).toEqual([
      { type: 'error', message: 'Table: getter exploded' },
      { type: 'error', message: 'Image: the bytes are not a PNG, JPEG, GIF, WebP or SVG image' },
      { type: 'error', message: 'Markdown: expects a string, got number' },
      { type: 'error', message: 'card part: unknown component kind "nonsense"' },
      { type: 'error', message: expect.stringContaining('null is not a card component') },
    ]);
  });

  it('has no card without @card or appended parts, and appending outside a task does nothing', () => {
    const s = store();
    currentCard.append(new Markdown('nowhere'));
    beginCard(undefined);
    expect(finishCard(takeCard(), s, TASK)).toBeUndefined();
    beginCard({});
    expect(stored(s, finishCard(takeCard(), s, TASK)).parts).toEqual([]);
  });

  it('renders one self-contained HTML document with no script: markup from data is text, SVG only through <img>', async () => {
    const s = store();
    beginCard({ title: 'T <script>alert(1)</script>' });
    currentCard.append(new Markdown('Hello **world** <script>alert(2)</script> [x](javascript:alert(3)) ![i](http://example.com/x.png)'));
    currentCard.append(new Table([{ '<b>col</b>': '<img src=x onerror=alert(4)>' }]));
    currentCard.append(new Artifact('svg'));
    const doc = stored(s, finishCard(takeCard(), s, TASK));
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(5)"><script>alert(6)</script></svg>');
    const html = await renderCardHtml(doc, sources(s, { svg }));
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<[a-z][^>]*\son\w+=/i); // no tag carries an event handler
    expect(html).not.toMatch(/href="javascript|src="http/i); // links may point out; nothing is loaded from there
    expect(html).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(html).toContain('&lt;b&gt;col&lt;/b&gt;');
    expect(html).toContain(`<img src="data:image/svg+xml;base64,${svg.toString('base64')}"`);
    expect(html).toContain(`content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"`);
  });

  it('renders a Vega-Lite chart to SVG, and a chart that would load data is an error on the card', async () => {
    const s = store();
    beginCard(undefined);
    currentCard.append(
      new VegaChart(
        {
          data: {
            values: [
              { x: 'a', y: 1 },
              { x: 'b', y: 3 },
            ],
          },
          mark: 'bar',
          encoding: { x: { field: 'x', type: 'nominal' }, y: { field: 'y', type: 'quantitative' } },
        },
        { title: 'bars' },
      ),
    );
    currentCard.append(new VegaChart({ data: { url: 'file:///etc/passwd' }, mark: 'point' }));
    currentCard.append(new VegaChart({ mark: 'nope' }));
    const html = await renderCardHtml(stored(s, finishCard(takeCard(), s, TASK)), sources(s));
    const svg = /<img src="data:image\/svg\+xml;base64,([^"]+)" alt="bars">/.exec(html);
    expect(Buffer.from(svg![1]!, 'base64').toString()).toMatch(/^<svg[\s\S]*<path[\s\S]*<\/svg>$/);
    expect(html).toContain('The chart could not be rendered: a card chart cannot load &quot;file:///etc/passwd&quot;');
    expect(html.match(/The chart could not be rendered: /g)).toHaveLength(2); // the unknown mark too
  });

  it('shows the artifacts of a task whose @card got no parts', async () => {
    const s = store();
    beginCard({ title: 'defaults' });
    const html = await renderCardHtml(stored(s, finishCard(takeCard(), s, TASK)), sources(s, { rows: [{ a: 1 }, { a: 2 }], note: 'hi' }));
    expect(html).toMatch(/<h2>rows<\/h2><div class="tbl"><table><thead><tr><th>a<\/th>/);
    expect(html).toContain('<pre>hi</pre>');
  });
});
