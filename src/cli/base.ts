import { Command, Flags } from '@oclif/core';
import type { FlowError } from '../errors/index.js';
import { writeStdout } from './stdout.js';

/**
 * Shared behaviour of every command: typed errors become one readable paragraph on stderr
 * (or `{ "error": ... }` on stdout with --json) and their exit code; stack traces only with
 * --debug (or FLOW_DEBUG=1).
 */
export abstract class BaseCommand extends Command {
  static override baseFlags = {
    debug: Flags.boolean({ description: 'Print stack traces of errors.', helpGroup: 'GLOBAL' }),
  };

  protected get debugEnabled(): boolean {
    return this.argv.includes('--debug') || process.env.FLOW_DEBUG === '1';
  }

  // The library is imported here, when a command fails, not at start-up: this class is part of
  // the CLI bundle (tools/build-cli.ts), which loads no library module before a command needs it.
  override async catch(err: Error & { oclif?: { exit?: number } }): Promise<void> {
    const { ExitCode, isFlowError } = await import('../errors/index.js');
    if (isFlowError(err)) {
      await this.report(err);
      process.exitCode = err.exitCode;
      return;
    }
    if (err.oclif?.exit !== undefined) {
      // oclif's own parse errors (unknown flag, missing argument): usage, exit 2.
      if (err.oclif.exit === 0) return;
      process.stderr.write(`Error: ${err.message}\n  Fix: see 'flow ${this.id ?? ''} --help'.\n`);
      if (this.debugEnabled && err.stack) process.stderr.write(`${err.stack}\n`);
      process.exitCode = err.oclif.exit;
      return;
    }
    process.stderr.write(`Internal error: ${err.message}\n  This is a bug in flowrun; rerun with --debug for the stack trace and report it.\n`);
    if (this.debugEnabled && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = ExitCode.runFailed;
  }

  /** --json output is for machines: plain JSON (oclif's colorizer tokenizes it, ~0.1 s per MB). */
  override logJson(json: unknown): void {
    writeStdout(`${JSON.stringify(json, null, 2)}\n`);
  }

  protected async report(err: FlowError): Promise<void> {
    const { formatError } = await import('../errors/format.js');
    if (this.jsonEnabled()) {
      this.logJson({ error: err.toJSON(), ...('errors' in err && Array.isArray(err.errors) ? { errors: (err.errors as FlowError[]).map((e) => e.toJSON()) } : {}) });
    } else {
      process.stderr.write(`${formatError(err)}\n`);
    }
    if (this.debugEnabled && err.stack) process.stderr.write(`${err.stack}\n`);
  }
}
