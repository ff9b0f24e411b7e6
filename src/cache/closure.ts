import { parseSync } from 'oxc-parser';
import { type AstNode, child, children, isNode, propertyKey } from '../graph/source.js';
import type { ModuleImports } from '../loader/compile.js';
import { sha256 } from '../util/hash.js';

/**
 * The code a step's tasks depend on, as a digest per step: the step's own method (decorators
 * included), the rest of the flow file without any step's method (top-level code, other class
 * members, imports), and the local modules the step reaches: those whose bindings its method
 * names, those the shared code names, and everything they import in turn. Editing one step's
 * body, or a helper module only that step imports, changes that step's digest alone.
 * Comments and indentation are not code: editing them changes no digest.
 *
 * Pure: the same source, names and module graph give the same digests. When the file cannot be
 * read this way (no step method found, a parse error), every step gets the digest of the
 * whole file and every bundled module, which can only make the cache miss more.
 */
export interface FlowClosure {
  /** Step name → sha256 of its code closure. */
  steps: Map<string, string>;
  /** Parameters the flow's constructor or field initializers read (`all`: it cannot be told). */
  constructionParams: string[] | 'all';
}

export interface ClosureInput {
  /** The flow file's path as the compiler's module graph names it (project-relative). */
  file: string;
  text: string;
  steps: readonly string[];
  params: readonly string[];
  /** Local imports of every bundled module (CompiledFlow.imports). */
  imports: ModuleImports;
  /** Content hash of every bundled module (CompiledFlow.inputs). */
  hashes: Record<string, string>;
}

export function flowClosure(o: ClosureInput): FlowClosure {
  const parsed = parseSync(o.file, o.text, { lang: /\.[cm]?tsx?$/.test(o.file) ? (o.file.endsWith('x') ? 'tsx' : 'ts') : 'js', sourceType: 'module' });
  const program = parsed.program as unknown as AstNode;
  const methods = parsed.errors.length === 0 && o.imports[o.file] ? stepMethods(program, new Set(o.steps)) : [];
  if (methods.length === 0) return wholeFile(o);
  const text = new SourceText(o.text, program, parsed.comments);
  const stepSpans = methods.map((m) => m.node);
  const shared = text.normalized(0, o.text.length, stepSpans);
  const bindings = importBindings(program);
  const sharedModules = new Set<string>(bindings.sideEffects.flatMap((s) => resolveSpecifier(o, s)));
  // Imports that are not statements (import(), require) cannot be tied to a step: every step has them.
  for (const i of o.imports[o.file] ?? []) if (i.kind !== 'import-statement') sharedModules.add(i.path);
  for (const name of identifiers(program, new Set(stepSpans))) for (const spec of bindings.byName.get(name) ?? []) for (const p of resolveSpecifier(o, spec)) sharedModules.add(p);

  const steps = new Map<string, string>();
  for (const step of o.steps) {
    const own = methods.filter((m) => m.name === step);
    const modules = new Set(sharedModules);
    for (const m of own) for (const name of identifiers(m.node, new Set())) for (const spec of bindings.byName.get(name) ?? []) for (const p of resolveSpecifier(o, spec)) modules.add(p);
    const closure = [...reachable(o.imports, modules)].sort().map((p) => `${p}\0${o.hashes[p] ?? 'missing'}`);
    steps.set(step, sha256(JSON.stringify({ shared, own: own.map((m) => text.normalized(m.node.start, m.node.end, [])), modules: closure })));
  }
  return {
    steps,
    constructionParams: constructionParams(
      methods.map((m) => m.cls),
      new Set(o.params),
    ),
  };
}

function wholeFile(o: ClosureInput): FlowClosure {
  const modules = Object.keys(o.hashes)
    .sort()
    .map((p) => `${p}\0${o.hashes[p]}`);
  const digest = sha256(JSON.stringify({ file: o.text, modules }));
  return { steps: new Map(o.steps.map((s) => [s, digest])), constructionParams: 'all' };
}

interface StepMethod {
  name: string;
  node: AstNode;
  cls: AstNode;
}

/** Methods decorated with @step (any spelling: step, ns.step) whose name is a step of the graph. */
function stepMethods(program: AstNode, steps: ReadonlySet<string>): StepMethod[] {
  const out: StepMethod[] = [];
  walkWithParent(program, undefined, (node) => {
    if (node.type !== 'ClassBody') return;
    for (const member of children(node, 'body')) {
      const name = member.type === 'MethodDefinition' && member.static !== true ? propertyKey(member) : undefined;
      if (name === undefined || !steps.has(name)) continue;
      const isStep = children(member, 'decorators').some((d) => {
        const e = child(d, 'expression');
        return (e?.type === 'Identifier' && e.name === 'step') || (e?.type === 'MemberExpression' && child(e, 'property')?.name === 'step');
      });
      if (isStep) out.push({ name, node: member, cls: node });
    }
  });
  return out;
}

/** Local names bound by import statements → their specifiers; imports bound to nothing. */
function importBindings(program: AstNode): { byName: Map<string, string[]>; sideEffects: string[] } {
  const byName = new Map<string, string[]>();
  const sideEffects: string[] = [];
  for (const stmt of children(program, 'body')) {
    const source = child(stmt, 'source')?.value;
    if (typeof source !== 'string') continue;
    if (stmt.type === 'ImportDeclaration') {
      if (stmt.importKind === 'type') continue;
      const specs = children(stmt, 'specifiers').filter((s) => s.importKind !== 'type');
      if (children(stmt, 'specifiers').length === 0) sideEffects.push(source);
      for (const s of specs) {
        const local = String(child(s, 'local')?.name ?? '');
        byName.set(local, [...(byName.get(local) ?? []), source]);
      }
    } else if (stmt.type === 'ExportAllDeclaration' || stmt.type === 'ExportNamedDeclaration') {
      sideEffects.push(source); // re-exports: evaluated with the module, whoever uses them
    }
  }
  return { byName, sideEffects };
}

function resolveSpecifier(o: ClosureInput, specifier: string): string[] {
  return (o.imports[o.file] ?? []).filter((i) => i.specifier === specifier).map((i) => i.path);
}

/** The modules and everything they import, transitively. */
function reachable(imports: ModuleImports, start: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const todo = [...start];
  while (todo.length > 0) {
    const p = todo.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    for (const i of imports[p] ?? []) todo.push(i.path);
  }
  return seen;
}

/**
 * Identifier names used in `root`, outside the nodes in `skip` and import statements: member
 * names (`a.b`'s b) and object keys are not references; everything else is kept, which can
 * only over-approximate what the code names.
 */
function identifiers(root: AstNode, skip: ReadonlySet<AstNode>): Set<string> {
  const names = new Set<string>();
  walkWithParent(root, undefined, (node, parent, key) => {
    if (skip.has(node) || node.type === 'ImportDeclaration') return false;
    if (node.type !== 'Identifier' && node.type !== 'JSXIdentifier') return;
    if (parent && key === 'property' && parent.type === 'MemberExpression' && parent.computed !== true) return;
    if (parent && key === 'key' && parent.computed !== true && parent.shorthand !== true) return;
    names.add(String(node.name));
  });
  return names;
}

/**
 * Parameters read while the flow object is built (field initializers, the constructor): their
 * values shape every task's artifacts without any step reading them. `this.x` names x; any
 * other use of `this` there (a method call, `this[k]`, passing `this`) could read anything.
 */
function constructionParams(bodies: AstNode[], params: ReadonlySet<string>): string[] | 'all' {
  const found = new Set<string>();
  let all = false;
  for (const body of new Set(bodies)) {
    const methods = new Set(
      children(body, 'body')
        .filter((m) => m.type === 'MethodDefinition')
        .map((m) => propertyKey(m)),
    );
    for (const member of children(body, 'body')) {
      const isCtor = member.type === 'MethodDefinition' && member.kind === 'constructor';
      const isField = member.type === 'PropertyDefinition' && member.static !== true && child(member, 'value') !== undefined;
      if (!isCtor && !isField) continue;
      const root = child(member, 'value')!;
      walkWithParent(root, undefined, (node, parent, key) => {
        if (node.type !== 'ThisExpression') return;
        const name = parent?.type === 'MemberExpression' && key === 'object' && parent.computed !== true ? String(child(parent, 'property')?.name) : undefined;
        if (name !== undefined && params.has(name)) found.add(name);
        else if (name === undefined || methods.has(name)) all = true;
      });
    }
  }
  return all ? 'all' : [...found].sort();
}

// biome-ignore lint/suspicious/noConfusingVoidType: visitors that return nothing mean "go on", as in walk() (graph/source.ts).
function walkWithParent(node: AstNode, parent: AstNode | undefined, visit: (n: AstNode, parent: AstNode | undefined, key: string | undefined) => boolean | void, key?: string): void {
  if (visit(node, parent, key) === false) return;
  for (const k of Object.keys(node)) {
    if (k === 'parent') continue;
    const v = node[k];
    if (Array.isArray(v)) {
      for (const c of v) if (isNode(c)) walkWithParent(c, node, visit, k);
    } else if (isNode(v)) {
      walkWithParent(v, node, visit, k);
    }
  }
}

/**
 * The source as the key sees it: comments dropped, each run of whitespace outside literals
 * shortened to one space (or one newline when it held one, since a newline can end a
 * statement) or dropped next to a bracket, comma or semicolon, so reindenting or commenting
 * changes nothing while any code change does.
 */
class SourceText {
  /** Spans kept byte for byte (strings, templates, regexes, JSX text) and spans dropped (comments), by start. */
  private readonly spans: Array<{ start: number; end: number; keep: boolean }> = [];

  constructor(
    private readonly text: string,
    program: AstNode,
    comments: ReadonlyArray<{ start: number; end: number }>,
  ) {
    walkWithParent(program, undefined, (node) => {
      if (node.type === 'Literal' || node.type === 'TemplateElement' || node.type === 'JSXText') {
        this.spans.push({ start: node.start, end: node.end, keep: true });
        return false;
      }
    });
    for (const c of comments) this.spans.push({ start: c.start, end: c.end, keep: false });
    this.spans.sort((a, b) => a.start - b.start);
  }

  /** Text of [start, end) without the `cut` nodes (each replaced by a marker). */
  normalized(start: number, end: number, cut: AstNode[]): string {
    const cuts = cut.filter((n) => n.start >= start && n.end <= end).map((n) => ({ start: n.start, end: n.end, keep: false, cut: true }));
    const spans = [...this.spans.filter((s) => s.start >= start && s.end <= end), ...cuts].sort((a, b) => a.start - b.start);
    let out = '';
    let code = ''; // code (and dropped comments) since the last kept span, squashed as one run
    let at = start;
    for (const s of spans) {
      if (s.start < at) continue; // inside a span already handled (a literal inside a cut step)
      code += this.text.slice(at, s.start);
      at = s.end;
      // A comment spanning lines still ends a line (ASI), so it leaves a newline.
      if (!s.keep && !('cut' in s)) {
        code += this.text.slice(s.start, s.end).includes('\n') ? '\n' : ' ';
        continue;
      }
      out += squash(code) + ('cut' in s ? '\u0000step\u0000' : this.text.slice(s.start, s.end));
      code = '';
    }
    return out + squash(code + this.text.slice(at, end));
  }
}

/** Punctuators that never merge with a neighbouring token: spaces next to them are not code. */
const LONE = new Set(['{', '}', '(', ')', '[', ']', ',', ';']);

function squash(code: string): string {
  return code.replace(/\s+/g, (ws, at: number) => {
    if (ws.includes('\n')) return '\n';
    return LONE.has(code[at - 1] ?? '') || LONE.has(code[at + ws.length] ?? '') ? '' : ' ';
  });
}
