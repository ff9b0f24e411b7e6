import { readFileSync, statSync } from 'node:fs';
import { extname, relative, resolve } from 'node:path';
import { type FlowError, FlowFileError, type FlowErrorJson, flowErrorFromJSON, GraphErrors, type GraphError } from '../errors/index.js';
import type { FlowGraph } from '../graph/types.js';
import { sha256 } from '../util/hash.js';
import { BUILD_ID } from '../util/package-info.js';
import { JsonCache } from './cache.js';

export interface Analysis {
  /** Absolute path of the flow file. */
  path: string;
  /** The path as shown in messages (relative to the working directory when inside it). */
  displayPath: string;
  graph?: FlowGraph;
  /** Every problem found: extraction errors and graph rule violations. */
  errors: FlowError[];
  fromCache: boolean;
}

interface CachedAnalysis {
  graph?: FlowGraph;
  errors: FlowErrorJson[];
}

const FLOW_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.tsx', '.jsx']);

/** Resolves and reads a flow file, with the checks every command needs first. */
export function readFlowFile(file: string): { path: string; displayPath: string; text: string } {
  const path = resolve(file);
  const rel = relative(process.cwd(), path);
  const displayPath = rel.startsWith('..') ? path : rel;
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    /* reported below */
  }
  if (!isFile) {
    throw new FlowFileError('FLOW_FILE_NOT_FOUND', `Flow file not found: ${path}.`, { file: displayPath, fix: 'Check the path; flow files are .ts or .js modules exporting a FlowSpec subclass.' });
  }
  if (!FLOW_EXTENSIONS.has(extname(path))) {
    throw new FlowFileError('FLOW_FILE_TYPE', `${displayPath} is not a TypeScript or JavaScript file.`, { file: displayPath, fix: 'Pass a .ts or .js file that exports a FlowSpec subclass.' });
  }
  return { path, displayPath, text: readFileSync(path, 'utf8') };
}

/**
 * The flow's graph and every static problem in it, without running user code. Results are
 * cached by (flowrun version, path, content hash), so an unchanged file skips the parser.
 */
export async function analyzeFlow(file: string, projectRoot: string): Promise<Analysis> {
  const { path, displayPath, text } = readFlowFile(file);
  const cache = JsonCache.forProject(projectRoot, 'graph');
  const key = sha256(`${BUILD_ID}\0${displayPath}\0${text}`);
  const hit = cache.get<CachedAnalysis>(key);
  if (hit) return { path, displayPath, graph: hit.graph, errors: hit.errors.map(flowErrorFromJSON), fromCache: true };

  const { extractGraph } = await import('../graph/extract.js');
  const { validateGraph } = await import('../graph/validate.js');
  const extracted = extractGraph(displayPath, text);
  const errors = [...extracted.errors, ...(extracted.graph ? validateGraph(extracted.graph) : [])];
  cache.set(key, { graph: extracted.graph, errors: errors.map((e) => e.toJSON()) } satisfies CachedAnalysis);
  return { path, displayPath, graph: extracted.graph, errors, fromCache: false };
}

/** The graph of an analysis, or every problem found in it at once (exit 2). */
export function assertGraph(analysis: Analysis): FlowGraph {
  if (analysis.errors.length > 0 || !analysis.graph) {
    const errs = analysis.errors as GraphError[];
    throw errs.length === 1 ? errs[0]! : new GraphErrors(errs);
  }
  return analysis.graph;
}
