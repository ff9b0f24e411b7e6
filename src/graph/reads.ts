import { type AstNode, child, isNode } from './source.js';

/** FlowSpec members a step calls that read nothing of the flow's own (next() names steps). */
const HARMLESS_CALLS: ReadonlySet<string> = new Set(['next']);

/** Nodes with a `this` of their own: what is inside does not read the step's `this`. */
const OWN_THIS: ReadonlySet<string> = new Set(['FunctionExpression', 'FunctionDeclaration', 'ClassExpression', 'ClassDeclaration']);

export interface StepReads {
  /** Names read as `this.x` (or destructured from `this`), sorted. */
  reads: string[];
  /**
   * `this` escapes where its reads cannot be followed: passed to a function, aliased, a computed
   * `this[key]`, or a method of the flow called (it may read anything).
   */
  all: boolean;
}

/**
 * What a step's body reads of the flow instance (parameters, included files, artifacts,
 * `this.input`), statically. `flow diff` uses it to tell which changed inputs can explain a
 * step's changed artifacts. Pure.
 */
export function stepReads(body: AstNode): StepReads {
  const reads = new Set<string>();
  let all = false;
  const visit = (n: AstNode, path: AstNode[]): void => {
    if (OWN_THIS.has(n.type)) return;
    if (n.type === 'ThisExpression') {
      const use = useOfThis(n, path);
      if (use === 'all') all = true;
      else for (const name of use) reads.add(name);
      return;
    }
    const inner = [...path, n];
    for (const key of Object.keys(n)) {
      if (key === 'parent') continue;
      const v = n[key];
      if (Array.isArray(v)) {
        for (const c of v) if (isNode(c)) visit(c, inner);
      } else if (isNode(v)) visit(v, inner);
    }
  };
  visit(body, []);
  return { reads: [...reads].sort(), all };
}

/** The names one `this` reads, or 'all' when its reads cannot be followed. */
function useOfThis(node: AstNode, path: AstNode[]): string[] | 'all' {
  const parent = path[path.length - 1];
  const grand = path[path.length - 2];
  if (parent?.type === 'MemberExpression' && child(parent, 'object') === node) {
    const prop = child(parent, 'property');
    if (parent.computed === true || prop?.type !== 'Identifier') return 'all';
    const name = String(prop.name);
    if (grand?.type === 'CallExpression' && child(grand, 'callee') === parent) return HARMLESS_CALLS.has(name) ? [] : 'all';
    // `this.x = value` writes x without reading it (`this.x += 1` reads it).
    if (grand?.type === 'AssignmentExpression' && child(grand, 'left') === parent && grand.operator === '=') return [];
    return [name];
  }
  // const { alpha, folds } = this
  if (parent?.type === 'VariableDeclarator' && child(parent, 'init') === node) {
    const pattern = child(parent, 'id');
    if (pattern?.type !== 'ObjectPattern') return 'all';
    const names: string[] = [];
    for (const p of (pattern.properties as unknown[]).filter(isNode)) {
      const key = child(p, 'key');
      if (p.type !== 'Property' || p.computed === true || key?.type !== 'Identifier') return 'all';
      names.push(String(key.name));
    }
    return names;
  }
  return 'all';
}
