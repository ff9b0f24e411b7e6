/** Robustness parts print their figures as a small table (they go into the README's Guarantees). */
export function printFigures(title: string, rows: Array<[string, string | number]>): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = [`\n[robustness] ${title}`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)];
  console.log(lines.join('\n'));
}

/** `npm run robustness -- --long` sets this: the big counts. CI runs the bounded ones. */
export const LONG = process.env.FLOW_ROBUSTNESS_LONG === '1';
