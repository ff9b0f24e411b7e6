import { Graph, layout } from '@dagrejs/dagre';
import { useMemo } from 'preact/hooks';
import { stepPath } from '../api.js';
import type { RunModel } from '../types.js';

const NODE_H = 56;

/** The run's DAG laid out by dagre: one node per step, coloured by its state, with its task counts. */
export function Dag({ run, dag }: { run: string; dag: RunModel['dag'] }) {
  const laid = useMemo(() => {
    const g = new Graph();
    g.setGraph({ rankdir: 'TB', nodesep: 28, ranksep: 44, marginx: 8, marginy: 8 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of dag.nodes) g.setNode(n.name, { width: Math.max(132, 8.2 * n.name.length + 44), height: NODE_H });
    for (const e of dag.edges) if (g.hasNode(e.from) && g.hasNode(e.to)) g.setEdge(e.from, e.to);
    layout(g);
    const size = g.graph() as { width?: number; height?: number };
    return { g, width: Math.ceil(size.width ?? 200), height: Math.ceil(size.height ?? 100) };
  }, [dag]);
  const { g, width, height } = laid;
  return (
    <div class="dag-wrap">
      <svg class="dag" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label="the flow's steps">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" class="arrow" />
          </marker>
        </defs>
        {dag.edges
          .filter((e) => g.hasEdge(e.from, e.to))
          .map((e) => {
            const pts = (g.edge(e.from, e.to) as { points: Array<{ x: number; y: number }> }).points;
            const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
            return <path key={`${e.from}>${e.to}`} class={`edge${e.foreach ? ' edge-foreach' : ''}`} d={d} marker-end="url(#arrow)" />;
          })}
        {dag.nodes.map((n) => {
          const p = g.node(n.name) as { x: number; y: number; width: number; height: number };
          const counts = n.tasks || n.running ? `${n.ok}${n.expected !== undefined ? `/${n.expected}` : ''} ok${n.cached ? ` (${n.cached} cached)` : ''}${n.failed ? ` · ${n.failed} failed` : ''}${n.running ? ` · ${n.running} running` : ''}` : n.state;
          return (
            <a key={n.name} href={stepPath(run, n.name)} class={`dag-node state-${n.state.replace(' ', '-')}`} data-step={n.name} data-state={n.state}>
              <title>{`${n.name} (${n.type}${n.foreach ? `, foreach ${n.foreach}` : ''}): ${n.state}, ${n.tasks} task${n.tasks === 1 ? '' : 's'}${n.doc ? `\n${n.doc}` : ''}`}</title>
              <rect x={p.x - p.width / 2} y={p.y - p.height / 2} width={p.width} height={p.height} rx="8" />
              <text x={p.x} y={p.y - 6} class="name">
                {n.name}
              </text>
              <text x={p.x} y={p.y + 14} class="counts">
                {n.foreach ? `foreach · ${counts}` : counts}
              </text>
            </a>
          );
        })}
      </svg>
    </div>
  );
}
