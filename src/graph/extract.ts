import { parseSync } from 'oxc-parser';
import { FlowError, FlowFileError, GraphError } from '../errors/index.js';
import { type AstNode, LineIndex, child, children, isNode } from './source.js';
import { MAX_SOURCE_NESTING, measureNesting } from './nesting.js';
import { readImports, resolveName, type ImportScope } from './imports.js';
import { readClass, type ClassContext } from './extract-class.js';
import { finishGraph } from './structure.js';
import { GRAPH_SCHEMA, type FlowGraph } from './types.js';
import { sha256 } from '../util/hash.js';

export interface ExtractResult {
  graph?: FlowGraph;
  /** Problems that stopped or limited extraction (syntax, no flow class, bad decorators...). */
  errors: FlowError[];
}

interface ClassInfo {
  name: string;
  node: AstNode;
  /** Start of the whole statement (before `export`), where its JSDoc ends. */
  stmtStart: number;
  superClass?: AstNode;
  exported: boolean;
  isDefault: boolean;
}

/**
 * Reads a flow file's source and returns its graph, without running any of it.
 * Pure: the same `(file, text)` always gives the same result.
 */
export function extractGraph(file: string, text: string): ExtractResult {
  // Judged before parsing: oxc's native parser would crash the process on very deep nesting,
  // and Node could not compile it for the task anyway.
  const nesting = measureNesting(text);
  if (nesting.offset !== undefined) return { errors: [tooDeep(file, new LineIndex(text).position(nesting.offset))] };
  try {
    return extractParsed(file, text);
  } catch (e) {
    // A shape the scan does not count (a 20,000-term expression) can still overflow the walk.
    if (e instanceof RangeError && /call stack/i.test(e.message)) return { errors: [tooDeep(file)] };
    throw e;
  }
}

function tooDeep(file: string, at?: { line: number; column: number }): FlowError {
  return new FlowFileError('FLOW_COMPILE_ERROR', `The code in ${file}${at ? `:${at.line}:${at.column}` : ''} nests deeper than flowrun accepts (more than ${MAX_SOURCE_NESTING} levels of blocks, brackets, conditions or arrow functions); Node itself cannot compile nesting much past 1,000 levels.`, {
    file,
    ...(at ? { line: at.line, column: at.column } : {}),
    fix: 'Flatten the code: return early, split it into functions, or use a lookup table instead of a long if/else or ?: chain.',
  });
}

function extractParsed(file: string, text: string): ExtractResult {
  const lang = /\.[cm]?tsx?$/.test(file) ? (file.endsWith('x') ? 'tsx' : 'ts') : 'js';
  const parsed = parseSync(file, text, { lang, sourceType: 'module' });
  const lines = new LineIndex(text);
  if (parsed.errors.length > 0) return { errors: parsed.errors.map((e) => syntaxError(file, text, lines, e)) };
  const program = parsed.program as unknown as AstNode;
  const scope = readImports(program);
  const classes = collectClasses(program);
  const chosen = chooseFlowClass(file, classes, scope);
  if (chosen instanceof FlowError) return { errors: [chosen] };

  const ctx: ClassContext = { file, text, lines, scope, comments: parsed.comments, errors: [] };
  const chain = superChain(chosen, classes, scope);
  const parts = chain.map((c) => readClass(ctx, c.node, c.stmtStart));
  const own = parts[parts.length - 1]!;
  const graph: FlowGraph = finishGraph({
    schema: GRAPH_SCHEMA,
    file,
    flow: chosen.name,
    line: lines.line(chosen.node.start),
    doc: own.doc,
    params: mergeByName(parts.map((p) => p.params)),
    steps: mergeByName(parts.map((p) => p.steps)),
    order: [],
    decorators: parts.flatMap((p) => p.decorators),
  });
  const methods = mergeByName(parts.map((p) => p.methods)).filter((m) => !graph.steps.some((s) => s.name === m.name));
  if (methods.length) graph.methods = methods;
  graph.moduleSource = sha256(
    cutOut(
      text,
      parts.flatMap((p) => p.stepSpans),
    ),
  );
  return { graph, errors: ctx.errors };
}

interface ParserDiagnostic {
  message: string;
  helpMessage?: string | null;
  labels: Array<{ message?: string | null; start: number }>;
}

/**
 * A syntax error where the user should look. The parser notices an unclosed bracket only where
 * something else appears instead (often lines later, or at the end of the file), so the error
 * names the line the bracket was opened on too, and points there when the file simply ended.
 */
function syntaxError(file: string, text: string, lines: LineIndex, e: ParserDiagnostic): FlowError {
  const found = lines.position(e.labels[0]?.start ?? 0);
  const opened = e.labels.find((l) => l.message === 'Opened here');
  const open = opened ? lines.position(opened.start) : undefined;
  const atEof = (e.labels[0]?.start ?? 0) >= text.trimEnd().length;
  const pos = open && atEof ? open : found;
  const bracket = opened ? text[opened.start] : undefined;
  const note = open ? ` (the ${bracket ? `\`${bracket}\` ` : ''}opened at line ${open.line}:${open.column} is not closed${atEof ? ' before the end of the file' : ''})` : '';
  return new FlowFileError('FLOW_COMPILE_ERROR', `Syntax error in ${file}:${found.line}:${found.column}: ${e.message}${note}.`, {
    file,
    line: pos.line,
    column: pos.column,
    fix: e.helpMessage ?? (open ? `Close the ${bracket ? `\`${bracket}\` ` : 'bracket '}opened at line ${open.line}, or remove it.` : 'Fix the syntax error and try again.'),
  });
}

/** The text without the given [start, end) spans. */
function cutOut(text: string, spans: Array<[number, number]>): string {
  let out = '';
  let at = 0;
  for (const [start, end] of [...spans].sort((x, y) => x[0] - y[0])) {
    out += text.slice(at, start);
    at = end;
  }
  return out + text.slice(at);
}

/** Later definitions (subclass) replace earlier ones (base) with the same name. */
function mergeByName<T extends { name: string }>(lists: T[][]): T[] {
  if (lists.length === 1) return lists[0]!;
  const out = new Map<string, T>();
  for (const list of lists) for (const item of list) out.set(item.name, item);
  return [...out.values()];
}

function collectClasses(program: AstNode): ClassInfo[] {
  const out: ClassInfo[] = [];
  const exportedNames = new Map<string, boolean>(); // local name → exported as default?
  for (const stmt of children(program, 'body')) {
    let node = stmt;
    let exported = false;
    let isDefault = false;
    if (stmt.type === 'ExportNamedDeclaration' || stmt.type === 'ExportDefaultDeclaration') {
      isDefault = stmt.type === 'ExportDefaultDeclaration';
      const decl = child(stmt, 'declaration');
      if (decl?.type === 'Identifier') exportedNames.set(String(decl.name), isDefault);
      for (const spec of children(stmt, 'specifiers')) {
        const local = child(spec, 'local');
        const exp = child(spec, 'exported');
        if (local) exportedNames.set(String(local.name), (exp?.name ?? exp?.value) === 'default');
      }
      if (!decl) continue;
      node = decl;
      exported = true;
    }
    if (node.type === 'ClassDeclaration' || node.type === 'ClassExpression') {
      const name = String(child(node, 'id')?.name ?? 'default');
      out.push({ name, node, stmtStart: stmt.start, superClass: child(node, 'superClass'), exported, isDefault });
    }
  }
  for (const c of out) {
    const flag = exportedNames.get(c.name);
    if (flag !== undefined) {
      c.exported = true;
      c.isDefault ||= flag;
    }
  }
  return out;
}

function isFlowClass(c: ClassInfo, classes: ClassInfo[], scope: ImportScope, seen = new Set<string>()): boolean {
  if (!c.superClass || seen.has(c.name)) return false;
  seen.add(c.name);
  const r = resolveName(c.superClass, scope);
  if ('flowrun' in r) return r.flowrun === 'FlowSpec';
  if ('external' in r) {
    const parent = classes.find((p) => p.name === r.external);
    return parent !== undefined && isFlowClass(parent, classes, scope, seen);
  }
  return false;
}

/** The class and its local flow superclasses, base first. */
function superChain(c: ClassInfo, classes: ClassInfo[], scope: ImportScope): ClassInfo[] {
  const chain = [c];
  let cur = c;
  while (cur.superClass) {
    const r = resolveName(cur.superClass, scope);
    const parent = 'external' in r ? classes.find((p) => p.name === r.external) : undefined;
    if (!parent || chain.includes(parent)) break;
    chain.unshift(parent);
    cur = parent;
  }
  return chain;
}

function chooseFlowClass(file: string, classes: ClassInfo[], scope: ImportScope): ClassInfo | FlowError {
  const flows = classes.filter((c) => isFlowClass(c, classes, scope));
  const exported = flows.filter((c) => c.exported);
  const byDefault = exported.find((c) => c.isDefault);
  if (byDefault) return byDefault;
  if (exported.length === 1) return exported[0]!;
  if (exported.length > 1) {
    return new FlowFileError('FLOW_CLASS_AMBIGUOUS', `${file} exports several FlowSpec subclasses (${exported.map((c) => c.name).join(', ')}) and none of them as default.`, { file, fix: `Export the flow to run as default: export default class ${exported[0]!.name} ...` });
  }
  if (flows.length > 0) {
    return new FlowFileError('FLOW_CLASS_NOT_FOUND', `${file} defines the flow class ${flows[0]!.name} but does not export it.`, { file, fix: `Write: export default class ${flows[0]!.name} extends FlowSpec { ... }` });
  }
  const hint = scope.fromFlowrun.size === 0 && scope.namespaces.size === 0 ? `Import it first: import { FlowSpec, step } from 'flowrun';` : `Write: export default class MyFlow extends FlowSpec { @step start() {...} @step end() {} }`;
  return new FlowFileError('FLOW_CLASS_NOT_FOUND', `${file} has no class extending FlowSpec.`, { file, fix: hint });
}

export { GraphError, isNode };
