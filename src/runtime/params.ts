import type { Literal } from '../decorators/types.js';
import { UsageError } from '../errors/index.js';
import { kebab } from '../metadata/names.js';
import type { FlowGraph, ParamNode } from '../graph/types.js';
import { closest } from '../util/suggest.js';

/**
 * Reads `--name value` / `--name=value` pairs for the flow's parameters from the arguments
 * oclif did not recognise, checking names and types before anything runs. Returns the values
 * given; absent parameters keep their defaults (required ones without a value are an error).
 */
export function parseParams(graph: FlowGraph, argv: readonly string[]): Record<string, Literal> {
  const byFlag = new Map<string, ParamNode>();
  for (const p of graph.params) {
    byFlag.set(p.name, p);
    byFlag.set(kebab(p.name), p);
  }
  const out: Record<string, Literal> = {};
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      throw new UsageError('PARAM_UNKNOWN', `Unexpected argument ${JSON.stringify(arg)}.`, { file: graph.file, fix: 'Parameters are given as --name value.' });
    }
    const eq = arg.indexOf('=');
    const flag = arg.slice(2, eq === -1 ? undefined : eq);
    const p = byFlag.get(flag);
    if (!p) {
      const guess = closest(flag, byFlag.keys());
      const known = graph.params.map((x) => `--${x.name}`).join(', ') || '(none)';
      throw new UsageError('PARAM_UNKNOWN', `${graph.flow} has no parameter --${flag}.`, {
        file: graph.file,
        param: flag,
        fix: guess ? `Did you mean --${guess}? Parameters: ${known}.` : `Parameters of ${graph.flow}: ${known}.`,
      });
    }
    const earlier = given.get(p.name);
    if (earlier !== undefined) {
      // The last one silently winning hides a typo in a long command line (or a script appending a flag).
      throw new UsageError('PARAM_REPEATED', `--${p.name} is given twice (${earlier} and ${arg}).`, {
        file: graph.file,
        line: p.line,
        param: p.name,
        fix: `Pass --${p.name} once.`,
      });
    }
    given.set(p.name, arg);
    let text: string | undefined;
    if (eq !== -1) text = arg.slice(eq + 1);
    else if (p.type === 'boolean' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--'))) text = 'true';
    else text = argv[++i];
    if (text === undefined) throw new UsageError('PARAM_TYPE', `--${flag} needs a value (${p.type}).`, { file: graph.file, line: p.line, param: p.name, fix: `Write --${flag} <${p.type}>.` });
    out[p.name] = convert(p, text, graph.file);
  }
  for (const p of graph.params) {
    if (p.required && !Object.hasOwn(out, p.name)) {
      throw new UsageError('PARAM_REQUIRED', `Parameter --${p.name} is required.`, { file: graph.file, line: p.line, param: p.name, fix: `Pass --${p.name} <${p.type}>${p.help ? ` (${p.help})` : ''}.` });
    }
  }
  return out;
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function convert(p: ParamNode, text: string, file: string): Literal {
  const bad = (expected: string) =>
    new UsageError('PARAM_TYPE', `--${p.name} expects ${expected}, got ${JSON.stringify(text)}.`, {
      file,
      line: p.line,
      param: p.name,
      fix: `Pass ${expected}, e.g. --${p.name} ${p.default !== undefined ? JSON.stringify(p.default) : '<value>'}.`,
    });
  switch (p.type) {
    case 'number': {
      // Decimal notation only: Number() would also take '0x10', '0b11', '0o7' and ' 5 ' (as 16, 3, 7, 5).
      if (!DECIMAL.test(text)) throw bad('a number');
      const n = Number(text);
      if (!Number.isFinite(n)) throw bad('a number');
      return n;
    }
    case 'boolean':
      if (/^(true|1|yes)$/i.test(text)) return true;
      if (/^(false|0|no)$/i.test(text)) return false;
      throw bad('true or false');
    case 'json':
      try {
        return JSON.parse(text) as Literal;
      } catch {
        throw bad('JSON');
      }
    case 'string':
      return text;
  }
}

/** The full parameter set of a run: defaults from the graph, overridden by the given values. */
export function resolveParams(graph: FlowGraph, given: Record<string, Literal>): Record<string, Literal> {
  const out: Record<string, Literal> = {};
  for (const p of graph.params) {
    if (Object.hasOwn(given, p.name)) out[p.name] = given[p.name]!;
    else if (p.default !== undefined) out[p.name] = p.default;
  }
  return out;
}
