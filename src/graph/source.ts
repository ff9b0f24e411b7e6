import type { Literal } from '../decorators/types.js';

/** Minimal view of an ESTree/oxc node: enough to walk and read positions without `any`. */
export interface AstNode {
  type: string;
  start: number;
  end: number;
  [key: string]: unknown;
}

export function isNode(v: unknown): v is AstNode {
  return typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string';
}

export function child(node: AstNode, key: string): AstNode | undefined {
  const v = node[key];
  return isNode(v) ? v : undefined;
}

export function children(node: AstNode, key: string): AstNode[] {
  const v = node[key];
  return Array.isArray(v) ? v.filter(isNode) : [];
}

/** Converts UTF-16 offsets (what oxc reports) to 1-based line and column. */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }
  line(offset: number): number {
    return this.position(offset).line;
  }
}

/** Depth-first walk; `enter` returns false to skip a node's children. */
// biome-ignore lint/suspicious/noConfusingVoidType: an `enter` that returns nothing (most of them) means "go on".
export function walk(node: AstNode, enter: (n: AstNode) => boolean | void): void {
  if (enter(node) === false) return;
  for (const key of Object.keys(node)) {
    if (key === 'parent') continue;
    const v = node[key];
    if (Array.isArray(v)) {
      for (const c of v) if (isNode(c)) walk(c, enter);
    } else if (isNode(v)) {
      walk(v, enter);
    }
  }
}

export type LiteralResult = { ok: true; value: Literal } | { ok: false; node: AstNode };

/** Wrappers that do not change a literal's value. */
const TRANSPARENT = new Set(['ParenthesizedExpression', 'TSAsExpression', 'TSSatisfiesExpression', 'TSNonNullExpression']);

/**
 * Evaluates a literal expression statically: strings, numbers, booleans, null, arrays,
 * plain objects, template strings without substitutions, and arithmetic on numbers.
 * Anything else is reported as the node that could not be read.
 */
export function evalLiteral(node: AstNode): LiteralResult {
  if (TRANSPARENT.has(node.type)) {
    const inner = child(node, 'expression');
    return inner ? evalLiteral(inner) : { ok: false, node };
  }
  switch (node.type) {
    case 'Literal': {
      const v = node.value;
      if (v === null || typeof v === 'string' || typeof v === 'boolean') return { ok: true, value: v };
      if (typeof v === 'number' && Number.isFinite(v)) return { ok: true, value: v };
      return { ok: false, node };
    }
    case 'TemplateLiteral': {
      if (children(node, 'expressions').length > 0) return { ok: false, node };
      const quasi = children(node, 'quasis')[0];
      const cooked = (quasi?.value as { cooked?: unknown } | undefined)?.cooked;
      return typeof cooked === 'string' ? { ok: true, value: cooked } : { ok: false, node };
    }
    case 'ArrayExpression': {
      const out: Literal[] = [];
      for (const el of node.elements as unknown[]) {
        if (!isNode(el) || el.type === 'SpreadElement') return { ok: false, node };
        const r = evalLiteral(el);
        if (!r.ok) return r;
        out.push(r.value);
      }
      return { ok: true, value: out };
    }
    case 'ObjectExpression': {
      const out: { [k: string]: Literal } = {};
      for (const prop of children(node, 'properties')) {
        const key = propertyKey(prop);
        const valueNode = child(prop, 'value');
        if (key === undefined || !valueNode || prop.method === true || prop.kind !== 'init') return { ok: false, node: prop };
        const r = evalLiteral(valueNode);
        if (!r.ok) return r;
        out[key] = r.value;
      }
      return { ok: true, value: out };
    }
    case 'UnaryExpression': {
      const arg = child(node, 'argument');
      const r = arg ? evalLiteral(arg) : undefined;
      if (r?.ok && typeof r.value === 'number' && (node.operator === '-' || node.operator === '+')) {
        return { ok: true, value: node.operator === '-' ? -r.value : r.value };
      }
      return { ok: false, node };
    }
    case 'BinaryExpression': {
      const l = child(node, 'left');
      const r = child(node, 'right');
      const lv = l ? evalLiteral(l) : undefined;
      const rv = r ? evalLiteral(r) : undefined;
      if (lv?.ok && rv?.ok && typeof lv.value === 'number' && typeof rv.value === 'number') {
        const v = arithmetic(String(node.operator), lv.value, rv.value);
        if (v !== undefined && Number.isFinite(v)) return { ok: true, value: v };
      }
      if (lv?.ok && rv?.ok && node.operator === '+' && typeof lv.value === 'string' && typeof rv.value === 'string') {
        return { ok: true, value: lv.value + rv.value };
      }
      return { ok: false, node };
    }
    default:
      return { ok: false, node };
  }
}

function arithmetic(op: string, a: number, b: number): number | undefined {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '**':
      return a ** b;
    default:
      return undefined;
  }
}

/** The static name of an object/class member key, or undefined when computed. */
export function propertyKey(prop: AstNode): string | undefined {
  const key = child(prop, 'key');
  if (!key || prop.computed === true) return undefined;
  if (key.type === 'Identifier') return String(key.name);
  if (key.type === 'Literal' && (typeof key.value === 'string' || typeof key.value === 'number')) return String(key.value);
  return undefined;
}

/** Text of the JSDoc block directly above `start` (only whitespace between), cleaned up. */
export function jsdocBefore(text: string, comments: ReadonlyArray<{ type: string; value: string; start: number; end: number }>, start: number): string | undefined {
  let found: { value: string; end: number } | undefined;
  for (const c of comments) {
    if (c.end > start) break;
    if (c.type === 'Block' && c.value.startsWith('*')) found = c;
    else found = undefined;
  }
  if (!found || text.slice(found.end, start).trim() !== '') return undefined;
  const doc = found.value
    .slice(1)
    .split('\n')
    .map((l) => l.replace(/^\s*\*? ?/, '').trimEnd())
    .join('\n')
    .trim();
  return doc === '' ? undefined : doc;
}
