import { type FlowError, isFlowError } from '../../src/errors/index.js';

/** The FlowError `f` throws (any other error is rethrown; no error at all fails the test). */
export function refusal(f: () => unknown): FlowError {
  try {
    f();
  } catch (e) {
    if (isFlowError(e)) return e;
    throw e;
  }
  throw new Error('not refused');
}
