/**
 * Text from records, file names and flags, made safe to print on a terminal. Run and task
 * records can come from a shared mirror, and file names, tags and flow names are anyone's
 * choice: an ESC in one could move the cursor, rewrite earlier lines, set the window title or
 * plant a hyperlink; a bidi override could make `evil.ts` read as `ts.live`. So C0 and C1
 * controls, DEL and the bidi controls are shown escaped (`\x1b`, `\u202e`), and long values are
 * cut, so one value cannot push everything else off the screen.
 */

/** C0 (but \n and \t, handled apart), DEL, C1, and the Unicode bidi controls. */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_OR_BREAK = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The longest name or tag shown before it is cut (with an ellipsis). */
export const DISPLAY_MAX = 120;
/** Paths get more room: they are copied from the output. */
export const PATH_DISPLAY_MAX = 400;

function escapeChar(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\t') return '\\t';
  if (c === '\r') return '\\r';
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One value (a name, tag, path) on one line: every control escaped, cut at `max` characters. */
export function displayValue(text: string, max = DISPLAY_MAX): string {
  return truncate(text.replace(UNSAFE_OR_BREAK, escapeChar), max);
}

/** Multi-line text (a message): line breaks and tabs kept, every other control escaped. */
export function displayText(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** At most `max` code points, the last replaced by '…' when cut (never half a surrogate pair). */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const points = Array.from(text);
  return points.length <= max ? text : `${points.slice(0, Math.max(0, max - 1)).join('')}…`;
}
