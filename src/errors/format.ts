import { type FlowError, GraphErrors, isFlowError } from './index.js';
import { DISPLAY_MAX, displayText, displayValue, truncate } from '../util/terminal.js';

/** One error as the user reads it: code, where, what happened, and the fix. No stack trace. */
export function formatError(e: FlowError): string {
  if (e instanceof GraphErrors || (isFlowError(e) && Array.isArray((e as GraphErrors).errors))) {
    const list = (e as GraphErrors).errors;
    return [`${list.length} problem${list.length === 1 ? '' : 's'} found:`, ...list.map((x) => indent(formatError(x)))].join('\n');
  }
  const where = e.where;
  const step = e.location.step && !e.message.includes(e.location.step) ? ` (step ${e.location.step})` : '';
  // Messages quote names, paths and values that may hold control characters (a file name, a
  // mirror's record): they are shown escaped, and each part cut at a length a terminal can show.
  const head = displayText(truncate(`Error ${e.code}${where ? ` at ${where}` : ''}${step}: ${e.message}`, MESSAGE_MAX));
  return e.fix ? `${head}\n  Fix: ${displayText(truncate(e.fix, MESSAGE_MAX))}` : head;
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l, i) => (i === 0 ? `- ${l}` : `  ${l}`))
    .join('\n');
}

const MESSAGE_MAX = 2000;

/**
 * Aligns rows of cells into columns separated by two spaces. Cells are names, tags and paths:
 * control characters are escaped and each cell is cut at `max` characters.
 */
export function table(cells: string[][], max = DISPLAY_MAX): string[] {
  const rows = cells.map((r) => r.map((c) => displayValue(c, max)));
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}
