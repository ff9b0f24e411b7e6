import { decoratorSpec, validateDecoratorOptions } from '../decorators/registry.js';
import type { DecoratorUse, Literal } from '../decorators/types.js';
import { DecoratorError, type FlowError, GraphError, UsageError } from '../errors/index.js';
import { closest } from '../util/suggest.js';
import { decoratorNames } from '../decorators/registry.js';
import { type ImportScope, resolveName } from './imports.js';
import { stepReads } from './reads.js';
import { sha256 } from '../util/hash.js';
import { type AstNode, type LineIndex, child, children, evalLiteral, jsdocBefore, propertyKey, walk } from './source.js';
import type { ParamNode, ParamType, StepNode, Transition } from './types.js';

export interface ClassContext {
  file: string;
  text: string;
  lines: LineIndex;
  scope: ImportScope;
  comments: ReadonlyArray<{ type: string; value: string; start: number; end: number }>;
  errors: FlowError[];
}

export interface ClassParts {
  doc?: string;
  params: ParamNode[];
  steps: StepNode[];
  decorators: DecoratorUse[];
  /** Plain instance methods (no @step). */
  methods: Array<{ name: string; line: number; next: string[] }>;
  /** Source spans of the step methods ([start, end) offsets). */
  stepSpans: Array<[number, number]>;
}

interface ReadDecorator extends DecoratorUse {
  target: 'step' | 'flow' | 'field' | 'core';
}

/** Reads one class body: its @step methods, @param fields and class decorators. */
export function readClass(ctx: ClassContext, cls: AstNode, docStart: number): ClassParts {
  // The doc may sit above `export`, or above class decorators written before `export`.
  const starts = [docStart, cls.start, ...children(cls, 'decorators').map((d) => d.start)];
  const parts: ClassParts = {
    doc: jsdocBefore(ctx.text, ctx.comments, Math.min(...starts)),
    params: [],
    steps: [],
    decorators: [],
    methods: [],
    stepSpans: [],
  };
  for (const d of readDecorators(ctx, cls, undefined)) {
    if (d.target === 'flow') parts.decorators.push(strip(d));
    else misplaced(ctx, d, 'the flow class', undefined);
  }
  for (const member of children(child(cls, 'body') ?? cls, 'body')) {
    const name = propertyKey(member);
    if (name === undefined || member.static === true) continue;
    const decorators = readDecorators(ctx, member, name);
    if (member.type === 'MethodDefinition' && decorators.some((d) => d.name === 'step')) {
      parts.steps.push(readStep(ctx, member, name, decorators));
      parts.stepSpans.push([member.start, member.end]);
    } else if (member.type === 'PropertyDefinition' && decorators.some((d) => PARAM_DECORATORS.has(d.name))) {
      const dec = decorators.find((d) => PARAM_DECORATORS.has(d.name))!;
      const p = dec.name === 'includeFile' ? readInclude(ctx, member, name, dec) : readParam(ctx, member, name, dec);
      if (p) parts.params.push(p);
      for (const d of decorators) if (d !== dec) misplaced(ctx, d, `the field ${name}`, undefined);
    } else {
      for (const d of decorators) misplaced(ctx, d, `${name}, which is not a @step`, name);
      if (member.type === 'MethodDefinition' && member.kind === 'method') parts.methods.push({ name, line: ctx.lines.line(child(member, 'key')?.start ?? member.start), next: nextTargets(member) });
    }
  }
  return parts;
}

function strip(d: ReadDecorator): DecoratorUse {
  return { name: d.name, options: d.options, line: d.line };
}

function misplaced(ctx: ClassContext, d: ReadDecorator, where: string, step: string | undefined): void {
  const belongs = d.target === 'flow' ? 'on the flow class' : d.target === 'field' ? 'on a class field' : 'on a @step method';
  ctx.errors.push(
    new DecoratorError(`@${d.name} is used on ${where}, but it belongs ${belongs}.`, {
      file: ctx.file,
      line: d.line,
      step,
      fix: `Move @${d.name} ${belongs}.`,
    }),
  );
}

function readDecorators(ctx: ClassContext, node: AstNode, step: string | undefined): ReadDecorator[] {
  const out: ReadDecorator[] = [];
  for (const dec of children(node, 'decorators')) {
    const expr = child(dec, 'expression');
    if (!expr) continue;
    const line = ctx.lines.line(dec.start);
    const isCall = expr.type === 'CallExpression';
    const callee = isCall ? child(expr, 'callee') : expr;
    if (!callee) continue;
    const r = resolveName(callee, ctx.scope);
    if ('external' in r || 'unreadable' in r) continue; // the user's own decorator: not ours to check
    const name = 'flowrun' in r ? r.flowrun : r.unknown;
    if (name === 'step') {
      if (isCall) ctx.errors.push(new DecoratorError(`@step takes no arguments.`, { file: ctx.file, line, step, fix: 'Write @step, not @step().' }));
      out.push({ name, options: {}, line, target: 'core' });
      continue;
    }
    const spec = decoratorSpec(name);
    // A field decorator (@param, @includeFile) sits on a parameter: its messages name the parameter, not a step.
    const at = spec?.target === 'field' ? { file: ctx.file, line, param: step } : { file: ctx.file, line, step };
    if (!spec) {
      const guess = closest(name, ['step', ...decoratorNames('step'), ...decoratorNames('flow'), ...decoratorNames('field')]);
      ctx.errors.push(
        new DecoratorError(`Unknown decorator @${name}.`, {
          file: ctx.file,
          line,
          step,
          fix: guess ? `Did you mean @${guess} (imported from 'flowrun')?` : `Import it from 'flowrun' or define it.`,
        }),
      );
      continue;
    }
    if ('unknown' in r) {
      ctx.errors.push(
        new DecoratorError(`@${name} is used but not imported.`, {
          ...at,
          fix: `Add ${name} to the import from 'flowrun'.`,
        }),
      );
    }
    let options: Record<string, Literal> = {};
    const args = isCall ? children(expr, 'arguments') : [];
    if (args.length > 1) {
      ctx.errors.push(new DecoratorError(`@${name} takes one options object, got ${args.length} arguments.`, { ...at, fix: `Pass one object: @${name}({ ${Object.keys(spec.options).join(', ')} }).` }));
    } else if (args.length === 1) {
      const lit = evalLiteral(args[0]!);
      if (!lit.ok) {
        ctx.errors.push(
          new DecoratorError(`@${name}: options must be literal values so the graph can be read without running the flow.`, {
            ...at,
            line: ctx.lines.line(lit.node.start),
            fix: `Replace the expression at line ${ctx.lines.line(lit.node.start)} with a literal (number, string, boolean, array or object).`,
          }),
        );
        continue;
      }
      const errs = validateDecoratorOptions(spec, lit.value, at);
      ctx.errors.push(...errs);
      if (errs.length === 0 && lit.value !== null && typeof lit.value === 'object' && !Array.isArray(lit.value)) options = lit.value;
    }
    out.push({ name, options, line, target: spec.target });
  }
  return out;
}

function readStep(ctx: ClassContext, member: AstNode, name: string, decorators: ReadDecorator[]): StepNode {
  const fn = child(member, 'value');
  const line = ctx.lines.line(child(member, 'key')?.start ?? member.start);
  for (const d of decorators) if (d.target === 'flow' || d.target === 'field') misplaced(ctx, d, `the step ${name}`, name);
  const node: StepNode = {
    name,
    line,
    doc: jsdocBefore(ctx.text, ctx.comments, member.start),
    async: fn?.async === true,
    takesInputs: fn ? children(fn, 'params').length > 0 : false,
    transitions: [],
    next: [],
    type: 'linear',
    decorators: decorators.filter((d) => d.target === 'step').map(strip),
    assigns: [],
    in: [],
  };
  if (!node.doc) delete node.doc;
  const body = fn ? child(fn, 'body') : undefined;
  if (body) {
    scanBody(ctx, body, node);
    const used = stepReads(body);
    node.reads = used.reads;
    if (used.all) node.readsAll = true;
  }
  node.source = sha256(ctx.text.slice(member.start, member.end));
  return node;
}

/** Finds `this.next(...)` calls and `this.x = ...` assignments, not entering functions that rebind `this`. */
function scanBody(ctx: ClassContext, body: AstNode, step: StepNode): void {
  const assigned = new Set<string>();
  walk(body, (n) => {
    if (n.type === 'FunctionExpression' || n.type === 'FunctionDeclaration' || n.type === 'ClassExpression' || n.type === 'ClassDeclaration') return false;
    if (n.type === 'CallExpression') {
      const callee = child(n, 'callee');
      if (callee && thisMember(callee) === 'next') {
        const t = readTransition(ctx, n, step.name);
        if (t) step.transitions.push(t);
        else step.dynamicNext = true;
      }
    } else if (n.type === 'AssignmentExpression') {
      const left = child(n, 'left');
      if (left) collectThisTargets(left, assigned);
    } else if (n.type === 'UpdateExpression') {
      const arg = child(n, 'argument');
      const name = arg ? thisMember(arg) : undefined;
      if (name) assigned.add(name);
    }
    return true;
  });
  step.assigns = [...assigned];
}

/** The steps a plain method's `this.next(this.x, ...)` calls name (read only to follow the flow past a missing @step). */
function nextTargets(method: AstNode): string[] {
  const out = new Set<string>();
  const body = child(method, 'value');
  if (body) {
    walk(body, (n) => {
      const callee = n.type === 'CallExpression' ? child(n, 'callee') : undefined;
      if (callee && thisMember(callee) === 'next')
        for (const arg of children(n, 'arguments')) {
          const t = thisMember(arg);
          if (t) out.add(t);
        }
      return true;
    });
  }
  return [...out];
}

function collectThisTargets(pattern: AstNode, into: Set<string>): void {
  walk(pattern, (n) => {
    const name = thisMember(n);
    if (name) {
      into.add(name);
      return false;
    }
    return true;
  });
}

/** `this.foo` → 'foo'; anything else → undefined. */
export function thisMember(n: AstNode): string | undefined {
  if (n.type !== 'MemberExpression' || n.computed === true) return undefined;
  const obj = child(n, 'object');
  const prop = child(n, 'property');
  return obj?.type === 'ThisExpression' && prop?.type === 'Identifier' ? String(prop.name) : undefined;
}

function readTransition(ctx: ClassContext, call: AstNode, step: string): Transition | undefined {
  const { line, column } = ctx.lines.position(call.start);
  const t: Transition = { targets: [], line, column };
  const args = children(call, 'arguments');
  for (const [i, arg] of args.entries()) {
    const target = thisMember(arg);
    if (target) {
      t.targets.push(target);
      continue;
    }
    if (i === args.length - 1 && arg.type === 'ObjectExpression') {
      const lit = evalLiteral(arg);
      const opts = lit.ok ? lit.value : undefined;
      const keys = opts && typeof opts === 'object' && !Array.isArray(opts) ? Object.keys(opts) : [];
      const foreach = opts && typeof opts === 'object' && !Array.isArray(opts) ? opts.foreach : undefined;
      if (typeof foreach === 'string' && keys.length === 1) {
        t.foreach = foreach;
        continue;
      }
      ctx.errors.push(
        new GraphError('GRAPH_DYNAMIC_NEXT', `Step ${step} calls next() with options flowrun cannot read; only { foreach: 'field' } with a literal field name is allowed.`, {
          file: ctx.file,
          line,
          column,
          step,
          fix: `Write this.next(this.target, { foreach: 'items' }).`,
        }),
      );
      return undefined;
    }
    const at = ctx.lines.position(arg.start);
    ctx.errors.push(
      new GraphError('GRAPH_DYNAMIC_NEXT', `Step ${step} calls next() with an argument flowrun cannot read statically (${ctx.text.slice(arg.start, Math.min(arg.end, arg.start + 40))}).`, {
        file: ctx.file,
        line: at.line,
        column: at.column,
        step,
        fix: 'Pass steps as this.stepName, e.g. this.next(this.train); the graph must be fixed before the run starts.',
      }),
    );
    return undefined;
  }
  return t;
}

/** Field decorators that declare a run parameter. */
const PARAM_DECORATORS: ReadonlySet<string> = new Set(['param', 'includeFile']);

/** @includeFile: a string parameter (the path); the default, when given, must be a literal path. */
function readInclude(ctx: ClassContext, member: AstNode, name: string, dec: ReadDecorator): ParamNode | undefined {
  const p = readParam(ctx, member, name, { ...dec, options: { ...dec.options, type: 'string' } });
  if (!p) return undefined;
  p.include = { binary: dec.options.binary === true };
  return p;
}

const PARAM_TYPES: ReadonlySet<string> = new Set(['number', 'string', 'boolean', 'json']);

function literalType(v: Literal): ParamType {
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return typeof v as ParamType;
  return 'json';
}

function readParam(ctx: ClassContext, member: AstNode, name: string, dec: ReadDecorator): ParamNode | undefined {
  const line = ctx.lines.line(child(member, 'key')?.start ?? member.start);
  const valueNode = child(member, 'value');
  const declared = typeof dec.options.type === 'string' && PARAM_TYPES.has(dec.options.type) ? (dec.options.type as ParamType) : undefined;
  const p: ParamNode = { name, type: declared ?? 'string', required: dec.options.required === true, line };
  if (typeof dec.options.help === 'string') p.help = dec.options.help;
  if (valueNode) {
    const lit = evalLiteral(valueNode);
    if (lit.ok) {
      const inferred = literalType(lit.value);
      if (declared && declared !== inferred && declared !== 'json') {
        ctx.errors.push(
          new UsageError('PARAM_TYPE', `Parameter ${name} is declared as ${declared} but its default is a ${inferred}.`, {
            file: ctx.file,
            line,
            param: name,
            fix: `Make the default a ${declared}, or drop the type option.`,
          }),
        );
      }
      p.type = declared ?? inferred;
      p.default = lit.value;
      return p;
    }
  }
  if (!declared) {
    ctx.errors.push(
      new UsageError('PARAM_TYPE', valueNode ? `Parameter ${name} has a default that is not a literal, so its type cannot be read without running the flow.` : `Parameter ${name} has no default, so its type is unknown.`, {
        file: ctx.file,
        line,
        param: name,
        fix: `Give a literal default (${name} = 0.1) or a type: @param({ type: 'number' }).`,
      }),
    );
    return undefined;
  }
  return p;
}
