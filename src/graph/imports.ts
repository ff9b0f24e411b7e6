import { type AstNode, child, children } from './source.js';

export const PACKAGE_NAME = 'flowrun';

/**
 * What the file imports from 'flowrun' and which names it binds at top level, so decorators
 * and the FlowSpec base class are recognised however they were imported or renamed.
 */
export interface ImportScope {
  /** local name → name exported by flowrun (`import { step as s }` gives s → step). */
  fromFlowrun: Map<string, string>;
  /** local names bound to `import * as ns from 'flowrun'`. */
  namespaces: Set<string>;
  /** every other top-level binding (imports from elsewhere, functions, classes, variables). */
  otherBindings: Set<string>;
}

export function readImports(program: AstNode): ImportScope {
  const scope: ImportScope = { fromFlowrun: new Map(), namespaces: new Set(), otherBindings: new Set() };
  for (const stmt of children(program, 'body')) {
    const decl = stmt.type === 'ExportNamedDeclaration' || stmt.type === 'ExportDefaultDeclaration' ? (child(stmt, 'declaration') ?? stmt) : stmt;
    if (decl.type === 'ImportDeclaration') {
      const fromUs = child(decl, 'source')?.value === PACKAGE_NAME;
      for (const spec of children(decl, 'specifiers')) {
        const local = String(child(spec, 'local')?.name ?? '');
        if (!fromUs) scope.otherBindings.add(local);
        else if (spec.type === 'ImportNamespaceSpecifier') scope.namespaces.add(local);
        else if (spec.type === 'ImportSpecifier') {
          const imported = child(spec, 'imported');
          scope.fromFlowrun.set(local, String(imported?.name ?? imported?.value ?? local));
        } else scope.fromFlowrun.set(local, 'default');
      }
    } else if (decl.type === 'FunctionDeclaration' || decl.type === 'ClassDeclaration') {
      const id = child(decl, 'id');
      if (id) scope.otherBindings.add(String(id.name));
    } else if (decl.type === 'VariableDeclaration') {
      for (const d of children(decl, 'declarations')) {
        const id = child(d, 'id');
        if (id?.type === 'Identifier') scope.otherBindings.add(String(id.name));
      }
    }
  }
  return scope;
}

/**
 * Resolves an expression naming something (a decorator callee or a superclass) to the
 * flowrun export it refers to, `{ external }` when it is the user's own binding, or
 * `{ unknown }` when nothing in the file defines it.
 */
export type Resolved = { flowrun: string } | { external: string } | { unknown: string } | { unreadable: true };

export function resolveName(node: AstNode, scope: ImportScope): Resolved {
  if (node.type === 'Identifier') {
    const name = String(node.name);
    const imported = scope.fromFlowrun.get(name);
    if (imported !== undefined) return { flowrun: imported };
    if (scope.otherBindings.has(name)) return { external: name };
    return { unknown: name };
  }
  if (node.type === 'MemberExpression' && node.computed !== true) {
    const obj = child(node, 'object');
    const prop = child(node, 'property');
    if (obj?.type === 'Identifier' && prop?.type === 'Identifier') {
      if (scope.namespaces.has(String(obj.name))) return { flowrun: String(prop.name) };
      return { external: `${String(obj.name)}.${String(prop.name)}` };
    }
  }
  return { unreadable: true };
}
