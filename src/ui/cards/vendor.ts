import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PACKAGE_ROOT } from '../../util/package-info.js';

/** The parts of vega, vega-lite and vega-interpreter the card renderer uses (dist/vendor/vega.mjs). */
export interface VegaLib {
  compile(spec: unknown): { spec: unknown };
  parse(spec: unknown, config?: unknown, options?: { ast?: boolean }): unknown;
  loader(): { load: (uri: string) => Promise<string>; sanitize: (uri: string) => Promise<unknown> };
  View: new (runtime: unknown, options: { renderer: 'none'; loader: unknown; expr: unknown }) => { toSVG(): Promise<string>; finalize(): void };
  expressionInterpreter: unknown;
}

export interface MarkdownLib {
  MarkdownIt: new (options: { html: boolean; linkify: boolean; typographer: boolean }) => MarkdownRenderer;
}

export interface MarkdownRenderer {
  render(text: string): string;
  disable(rule: string): MarkdownRenderer;
}

/** Bundled at build time (tools/ui-build) from devDependencies: loaded only when a card is rendered. */
const vendor = (name: string) => pathToFileURL(join(PACKAGE_ROOT, 'dist', 'vendor', `${name}.mjs`)).href;

let vega: Promise<VegaLib> | undefined;
let markdown: Promise<MarkdownLib> | undefined;

export function loadVega(): Promise<VegaLib> {
  vega ??= import(vendor('vega')) as Promise<VegaLib>;
  return vega;
}

export function loadMarkdown(): Promise<MarkdownLib> {
  markdown ??= import(vendor('markdown-it')) as Promise<MarkdownLib>;
  return markdown;
}
