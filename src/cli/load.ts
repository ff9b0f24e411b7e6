import { dirname, resolve } from 'node:path';
import { loadConfig, type FlowConfig } from '../config/config.js';
import type { FlowGraph } from '../graph/types.js';
import { analyzeFlow, assertGraph, type Analysis } from '../loader/analyze.js';

export interface LoadedFlow {
  config: FlowConfig;
  analysis: Analysis;
  graph: FlowGraph;
}

/**
 * The first steps of every command that takes a flow file: config, then the static graph.
 * Throws every graph problem at once (exit 2) before anything else happens.
 */
export async function loadFlowGraph(file: string): Promise<LoadedFlow> {
  const config = loadConfig(dirname(resolve(file)));
  const analysis = await analyzeFlow(file, config.projectRoot);
  return { config, analysis, graph: assertGraph(analysis) };
}
