import { useEffect, useRef, useState } from 'preact/hooks';
import { taskPath } from '../api.js';
import { duration } from './common.js';
import type { TimelineModel } from '../types.js';

const ROW_H = 20;
const LABEL_W = 170;
const OVERSCAN = 10;

/**
 * A Gantt chart of every task and attempt. Only the rows in view are in the DOM (10,000 tasks
 * cost as much as the ~40 on screen); the scrollbar spans them all.
 */
export function Timeline({ run, model, height = 420 }: { run: string; model: TimelineModel; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [width, setWidth] = useState(900);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setWidth(Math.max(300, el.clientWidth - LABEL_W - 24));
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const rows = model.tasks.length + model.running.length;
  const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
  const last = Math.min(rows, Math.ceil((top + height) / ROW_H) + OVERSCAN);
  const x = (ms: number) => (ms / model.span) * width;
  const visible = [];
  for (let i = first; i < last; i++) {
    if (i < model.tasks.length) {
      const [s, id, ok, attempts] = model.tasks[i]!;
      const step = model.steps[s] ?? '?';
      visible.push(
        <a key={`t${i}`} class="tl-row" style={{ top: `${i * ROW_H}px` }} href={taskPath(run, step, id)} data-task={`${step}/${id}`}>
          <span class="tl-label" style={{ width: `${LABEL_W}px` }}>
            {step}/{id}
          </span>
          {attempts.map(([start, dur, aok], k) => (
            <span key={k} class={`tl-bar ${aok ? 'ok' : 'failed'}${k < attempts.length - 1 ? ' retried' : ''}`} title={`${step}/${id} attempt ${k}: ${duration(dur)}${aok ? '' : ' (failed)'}`} style={{ left: `${LABEL_W + x(start)}px`, width: `${Math.max(2, x(dur))}px` }} />
          ))}
          {ok ? null : <span class="tl-mark">✗</span>}
        </a>,
      );
    } else {
      const [s, id, attempt, start] = model.running[i - model.tasks.length]!;
      const step = model.steps[s] ?? '?';
      visible.push(
        <a key={`r${i}`} class="tl-row" style={{ top: `${i * ROW_H}px` }} href={taskPath(run, step, id)} data-task={`${step}/${id}`}>
          <span class="tl-label" style={{ width: `${LABEL_W}px` }}>
            {step}/{id}
          </span>
          <span class="tl-bar running" title={`${step}/${id} attempt ${attempt}: running`} style={{ left: `${LABEL_W + x(start)}px`, width: `${Math.max(2, x(model.span - start))}px` }} />
        </a>,
      );
    }
  }
  return (
    <div class="timeline">
      <div class="tl-axis" style={{ marginLeft: `${LABEL_W}px` }}>
        {[0, 0.25, 0.5, 0.75, 1].map((f) => (
          <span key={f} style={{ left: `${f * width}px` }}>
            {duration(f * model.span)}
          </span>
        ))}
      </div>
      <div class="tl-scroll" ref={box} style={{ height: `${Math.min(height, rows * ROW_H + 4)}px` }} onScroll={(e) => setTop((e.target as HTMLDivElement).scrollTop)}>
        <div class="tl-body" style={{ height: `${rows * ROW_H}px` }}>
          {visible}
        </div>
      </div>
      <p class="hint">
        {model.tasks.length} task{model.tasks.length === 1 ? '' : 's'}
        {model.running.length ? `, ${model.running.length} running` : ''}, {duration(model.span)} in all; each bar is an attempt (retried attempts are hatched).
      </p>
    </div>
  );
}
