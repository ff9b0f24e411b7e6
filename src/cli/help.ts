import { type Command, Help } from '@oclif/core';
import type { ParamNode } from '../graph/types.js';
import { kebab } from '../metadata/names.js';
import { DISPLAY_MAX, displayValue } from '../util/terminal.js';

/** Commands whose help can list a flow file's own parameters (`flow run FILE --help`). */
const FLOW_FILE_COMMANDS = new Set(['run']);

/**
 * oclif's help, plus the flow's parameters for `flow run FILE --help`: they are flags of the
 * command like any other, but they come from the file, read statically (no user code runs).
 */
export default class FlowHelp extends Help {
  private flowSection?: string;

  override async showHelp(argv: string[]): Promise<void> {
    const [id, ...rest] = argv.filter((a) => a !== '--help' && a !== '-h' && a !== 'help');
    const file = rest.find((a) => !a.startsWith('-'));
    if (id && FLOW_FILE_COMMANDS.has(id) && file) this.flowSection = await this.paramsSection(file);
    await super.showHelp(argv);
  }

  protected override formatCommand(command: Command.Loadable): string {
    const text = super.formatCommand(command);
    if (!this.flowSection) return text;
    // After the command's own flags, before the global ones: where a user looks for --alpha.
    const at = text.indexOf('\nGLOBAL FLAGS');
    return at === -1 ? `${text}\n\n${this.flowSection}` : `${text.slice(0, at)}\n${this.flowSection}\n${text.slice(at)}`;
  }

  private async paramsSection(file: string): Promise<string> {
    try {
      const { loadFlowGraph } = await import('./load.js');
      const { graph, analysis } = await loadFlowGraph(file);
      const title = `FLOW PARAMETERS (${displayValue(graph.flow)}, ${displayValue(analysis.displayPath)})`;
      if (graph.params.length === 0) return this.section(title, `${displayValue(graph.flow)} has no parameters.`);
      return this.section(
        title,
        graph.params.map((p) => [flagOf(p), describeParam(p)] as [string, string]),
      );
    } catch (e) {
      return this.section('FLOW PARAMETERS', `Cannot read the parameters of ${displayValue(file)}: ${displayValue((e as Error).message, DISPLAY_MAX)} (flow check ${displayValue(file)} lists every problem).`);
    }
  }
}

function flagOf(p: ParamNode): string {
  const name = kebab(p.name);
  return `--${name}=<${p.include ? 'path' : p.type}>`;
}

function describeParam(p: ParamNode): string {
  const parts: string[] = [];
  if (p.required) parts.push('(required)');
  if (p.help) parts.push(displayValue(p.help, DISPLAY_MAX));
  if (p.include) parts.push(`(a ${p.include.binary ? 'binary ' : ''}file, stored with the run)`);
  if (p.default !== undefined) parts.push(`[default: ${displayValue(JSON.stringify(p.default), DISPLAY_MAX)}]`);
  return parts.join(' ');
}
