import { type FlowError, GraphErrors, isFlowError } from '../errors/index.js';

/** One error as the user reads it: code, where, what happened, and the fix. No stack trace. */
export function formatError(e: FlowError): string {
  if (e instanceof GraphErrors || (isFlowError(e) && Array.isArray((e as GraphErrors).errors))) {
    const list = (e as GraphErrors).errors;
    return [`${list.length} problem${list.length === 1 ? '' : 's'} found:`, ...list.map((x) => indent(formatError(x)))].join('\n');
  }
  const where = e.where;
  const step = e.location.step && !e.message.includes(e.location.step) ? ` (step ${e.location.step})` : '';
  const head = `Error ${e.code}${where ? ` at ${where}` : ''}${step}: ${e.message}`;
  return e.fix ? `${head}\n  Fix: ${e.fix}` : head;
}

function indent(s: string): string {
  return s.split('\n').map((l, i) => (i === 0 ? `- ${l}` : `  ${l}`)).join('\n');
}

/** Aligns rows of cells into columns separated by two spaces. */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, c.length); });
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}
