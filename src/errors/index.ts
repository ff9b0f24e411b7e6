import type { ErrorCode } from './catalog.js';
import { ExitCode, FlowError, type FlowErrorOptions } from './flow-error.js';

export * from './flow-error.js';

/** Structural problems in a flow, found before anything runs (exit 2). */
export class GraphError extends FlowError {
  constructor(code: ErrorCode, message: string, options: FlowErrorOptions = {}) {
    super(code, message, { exitCode: ExitCode.usage, ...options });
    this.name = 'GraphError';
  }
}

/** Several graph errors at once: `flow check` lists them all. */
export class GraphErrors extends FlowError {
  readonly errors: GraphError[];
  constructor(errors: GraphError[]) {
    const first = errors[0];
    super(first?.code ?? 'GRAPH_INVALID', `${errors.length} problem(s) in the flow`, {
      exitCode: ExitCode.usage,
      file: first?.location.file,
    });
    this.name = 'GraphErrors';
    this.errors = errors;
  }
}

/** Bad command-line usage, flags, params or configuration (exit 2). */
export class UsageError extends FlowError {
  constructor(code: ErrorCode, message: string, options: FlowErrorOptions = {}) {
    super(code, message, { exitCode: ExitCode.usage, ...options });
    this.name = 'UsageError';
  }
}

/** The flow file could not be found, parsed or compiled (exit 2). */
export class FlowFileError extends FlowError {
  constructor(code: ErrorCode, message: string, options: FlowErrorOptions = {}) {
    super(code, message, { exitCode: ExitCode.usage, ...options });
    this.name = 'FlowFileError';
  }
}

/** `.flowrc` problems (exit 2). */
export class ConfigError extends FlowError {
  constructor(message: string, options: FlowErrorOptions = {}) {
    super('CONFIG_INVALID', message, { exitCode: ExitCode.usage, ...options });
    this.name = 'ConfigError';
  }
}

/** A decorator used with unknown or ill-typed options (exit 2). */
export class DecoratorError extends FlowError {
  constructor(message: string, options: FlowErrorOptions = {}) {
    super('DECORATOR_INVALID', message, { exitCode: ExitCode.usage, ...options });
    this.name = 'DecoratorError';
  }
}
export * from './store.js';
// Only the type: the catalog's table is for the docs generator and its test (they import it from
// catalog.js), and a value re-exported here would put its 15 KB in every bundle (issue #18).
export type { ErrorCode } from './catalog.js';
