/**
 * The error family every user-facing failure belongs to.
 *
 * Each error has a stable `code` (documented, greppable, safe to match on in scripts), a message
 * that names the file/step/artifact involved and says how to fix it, and the process exit code
 * the CLI uses. Classes are branded with a registered symbol instead of relying on `instanceof`,
 * because a flow may load a second copy of flowrun (Temporal's SymbolBasedInstanceOfError idea).
 */
import { redactUrlsIn } from '../util/url-credentials.js';
import type { ErrorCode } from './catalog.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';

export { ExitCode, type ExitCodeValue };

export const FLOW_ERROR_BRAND: unique symbol = Symbol.for('flowrun.error') as never;

/** Where in the user's code or data an error points. All optional: include what is known. */
export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  step?: string;
  artifact?: string;
  param?: string;
  key?: string;
}

export interface FlowErrorOptions extends ErrorLocation {
  /** One sentence telling the user what to do. Printed on its own line after the message. */
  fix?: string;
  exitCode?: ExitCodeValue;
  cause?: unknown;
  /** Structured extra data for `--json` consumers. */
  data?: Record<string, unknown>;
}

export class FlowError extends Error {
  readonly [FLOW_ERROR_BRAND] = true;
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;
  readonly fix?: string;
  readonly location: ErrorLocation;
  readonly data?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: FlowErrorOptions = {}) {
    // A URL in a message (an endpoint, a remote, an SDK's text) never shows its credentials.
    super(redactUrlsIn(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FlowError';
    this.code = code;
    this.exitCode = options.exitCode ?? ExitCode.runFailed;
    this.fix = options.fix === undefined ? undefined : redactUrlsIn(options.fix);
    this.data = options.data;
    const { file, line, column, step, artifact, param, key } = options;
    this.location = stripUndefined({ file, line, column, step, artifact, param, key });
  }

  /** `file:line:col` when known, else the file, else ''. */
  get where(): string {
    const { file, line, column } = this.location;
    if (!file) return '';
    return [file, line, line !== undefined ? column : undefined].filter((x) => x !== undefined).join(':');
  }

  /** A stable JSON shape for `--json` output and for records. */
  toJSON(): FlowErrorJson {
    return stripUndefined<FlowErrorJson>({
      code: this.code,
      message: this.message,
      fix: this.fix,
      exitCode: this.exitCode,
      ...this.location,
      data: this.data,
    });
  }
}

export interface FlowErrorJson extends ErrorLocation {
  code: string;
  message: string;
  fix?: string;
  exitCode: ExitCodeValue;
  data?: Record<string, unknown>;
}

/** Rebuilds an error from its JSON form (caches, records). */
export function flowErrorFromJSON(j: FlowErrorJson): FlowError {
  const { code, message, fix, exitCode, data, ...location } = j;
  // A code read back from a record may be one this version does not know; it is shown as it is.
  return new FlowError(code as ErrorCode, message, { ...location, fix, exitCode, data });
}

export function isFlowError(e: unknown): e is FlowError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[FLOW_ERROR_BRAND] === true;
}

function stripUndefined<T extends object>(o: T): T {
  const r = o as Record<string, unknown>;
  for (const k of Object.keys(r)) if (r[k] === undefined) delete r[k];
  return o;
}
