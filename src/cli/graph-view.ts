import type { DecoratorUse } from '../decorators/types.js';
import { type FlowGraph, stepMap } from '../graph/types.js';
import { table } from '../errors/format.js';
import { PATH_DISPLAY_MAX, displayValue } from '../util/terminal.js';

/** The documented `flow show --json` document (docs/json.md). */
export interface GraphView {
  schema: 'flowrun.show/1';
  flow: string;
  file: string;
  doc?: string;
  decorators: DecoratorUse[];
  params: FlowGraph['params'];
  steps: Array<{
    name: string;
    type: string;
    line: number;
    next: string[];
    foreach?: string;
    async: boolean;
    doc?: string;
    decorators: DecoratorUse[];
  }>;
}

/** Steps in topological order with what a reader needs; pure. */
export function graphView(g: FlowGraph): GraphView {
  const steps = stepMap(g);
  return {
    schema: 'flowrun.show/1',
    flow: g.flow,
    file: g.file,
    ...(g.doc ? { doc: g.doc } : {}),
    decorators: g.decorators,
    params: g.params,
    steps: g.order.map((name) => {
      const s = steps.get(name)!;
      return {
        name: s.name,
        type: s.type,
        line: s.line,
        next: s.next,
        ...(s.foreach !== undefined ? { foreach: s.foreach } : {}),
        async: s.async,
        ...(s.doc ? { doc: s.doc } : {}),
        decorators: s.decorators,
      };
    }),
  };
}

function decoratorText(d: DecoratorUse): string {
  const opts = Object.keys(d.options).length ? `(${JSON.stringify(d.options)})` : '';
  return `@${d.name}${opts}`;
}

export function renderGraph(v: GraphView): string {
  const out: string[] = [`${displayValue(v.flow)}  (${displayValue(v.file, PATH_DISPLAY_MAX)})`];
  if (v.doc) out.push(...v.doc.split('\n').map((l) => `  ${displayValue(l, PATH_DISPLAY_MAX)}`));
  for (const d of v.decorators) out.push(`  ${displayValue(decoratorText(d), PATH_DISPLAY_MAX)}`);
  if (v.params.length) {
    out.push('', 'Parameters');
    out.push(...table(v.params.map((p) => [`  --${p.name}`, p.include ? `file${p.include.binary ? ' (binary)' : ''}` : p.type, p.default === undefined ? (p.required ? '(required)' : '-') : JSON.stringify(p.default), p.help ?? ''])));
  }
  out.push('', 'Steps');
  out.push(...table(v.steps.map((s) => [`  ${s.name}`, s.type, s.next.length ? `→ ${s.next.join(', ')}${s.foreach ? ` (foreach ${s.foreach})` : ''}` : '', [...s.decorators.map(decoratorText), s.doc?.split('\n')[0] ?? ''].filter(Boolean).join('  ')])));
  return out.join('\n');
}
