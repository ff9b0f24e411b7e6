import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

/** A list whose rows outside the view are not in the DOM: 10,000 rows scroll like 40. */
export function VirtualList({ count, rowHeight, height, row }: { count: number; rowHeight: number; height: number; row: (i: number) => ComponentChildren }) {
  const [top, setTop] = useState(0);
  const first = Math.max(0, Math.floor(top / rowHeight) - 8);
  const last = Math.min(count, Math.ceil((top + height) / rowHeight) + 8);
  const rows = [];
  for (let i = first; i < last; i++)
    rows.push(
      <div key={i} class="vrow" style={{ top: `${i * rowHeight}px`, height: `${rowHeight}px` }}>
        {row(i)}
      </div>,
    );
  return (
    <div class="vlist" style={{ height: `${Math.min(height, count * rowHeight + 2)}px` }} onScroll={(e) => setTop((e.target as HTMLDivElement).scrollTop)}>
      <div style={{ height: `${count * rowHeight}px`, position: 'relative' }}>{rows}</div>
    </div>
  );
}
