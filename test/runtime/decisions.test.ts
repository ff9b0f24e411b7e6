import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stepSettings } from '../../src/decorators/settings.js';
import { isFlowError } from '../../src/errors/index.js';
import { extractGraph } from '../../src/graph/extract.js';
import type { TaskRecord } from '../../src/metadata/records.js';
import { afterFailure, checkNext, cloneSource, logsStack } from '../../src/runtime/decisions.js';
import type { DoneTask, TaskSpec } from '../../src/runtime/successors.js';
import { splitCount } from '../../src/task/split-count.js';

// The scheduler's per-attempt decisions (retry, catch, fail; stack in the log; resume cloning;
// the next() check) and the foreach split count, tested without workers or a store.

const { graph } = extractGraph(
  'flows/d.ts',
  `
import { FlowSpec, step, retry, catchError } from 'flowrun';
export default class D extends FlowSpec {
  @retry({ times: 2 }) @step start() { this.items = [1]; this.next(this.each, { foreach: 'items' }); }
  @catchError({ var: 'oops', printException: false }) @retry({ times: 1 }) @step each() { this.next(this.join); }
  @catchError({ var: 'err' }) @step join(inputs) { this.next(this.end); }
  @step end() {}
}`,
);
const step = (name: string) => graph!.steps.find((s) => s.name === name)!;
const settings = (name: string) => stepSettings(step(name).decorators);

describe('afterFailure', () => {
  it('@retry: retries while attempts are left, then fails', () => {
    expect(settings('start').attempts).toBe(3);
    const go = { stopping: false, foreachStep: true };
    expect([0, 1, 2].map((a) => afterFailure(settings('start'), a, go))).toEqual(['retry', 'retry', 'fail']);
  });

  it('@catchError catches once the retries are spent, not in a foreach step, not when the run stops', () => {
    const each = settings('each');
    expect([0, 1].map((a) => afterFailure(each, a, { stopping: false, foreachStep: false }))).toEqual(['retry', 'catch']);
    expect(afterFailure(settings('join'), 0, { stopping: false, foreachStep: false })).toBe('catch');
    expect(afterFailure(settings('join'), 0, { stopping: false, foreachStep: true })).toBe('fail');
    expect(afterFailure(settings('join'), 0, { stopping: true, foreachStep: false })).toBe('fail');
    // A stopping run does not retry either.
    expect(afterFailure(settings('start'), 0, { stopping: true, foreachStep: false })).toBe('fail');
  });

  it('law: retry exactly while attempts remain and the run goes on; catch only with @catchError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.option(fc.constantFrom('e', 'err')), fc.boolean(), fc.boolean(), fc.nat(5), (attempts, catchVar, stopping, foreachStep, n) => {
        const attempt = n % attempts;
        const then = afterFailure({ attempts, ...(catchVar === null ? {} : { catchVar }) }, attempt, { stopping, foreachStep });
        expect(then === 'retry').toBe(attempt < attempts - 1 && !stopping);
        expect(then === 'catch').toBe(attempt === attempts - 1 && catchVar !== null && !stopping && !foreachStep);
      }),
    );
  });
});

describe('logsStack', () => {
  it('the stack goes into the log, except the error @catchError({ printException: false }) catches', () => {
    expect([0, 1].map((a) => logsStack(settings('each'), a))).toEqual([true, false]);
    expect(logsStack(settings('join'), 0)).toBe(true);
    expect(logsStack(settings('start'), 2)).toBe(true);
  });
});

describe('cloneSource', () => {
  const done = (s: string, cloned: boolean): DoneTask => ({ step: s, id: '0', stack: [], artifacts: {}, cloned });
  const origin = (parents: string[]) => ({ step: 'b', id: '0', parents }) as unknown as TaskRecord;
  const spec = (parents: DoneTask[]): TaskSpec => ({ step: 'b', id: '0', stack: [], parents });

  it('reuses an origin task only when all its parents were reused and it read the same tasks', () => {
    const from = () => origin(['a/0']);
    expect(cloneSource(spec([done('a', true)]), from)).toEqual(origin(['a/0']));
    expect(cloneSource(spec([done('a', false)]), from)).toBeUndefined();
    expect(cloneSource(spec([done('x', true)]), from)).toBeUndefined();
    expect(cloneSource(spec([done('a', true)]), () => undefined)).toBeUndefined();
    expect(cloneSource(spec([done('a', true)]), undefined)).toBeUndefined();
    // flow cache verify: offered even when the parent ran again.
    expect(cloneSource(spec([done('a', false)]), from, true)).toEqual(origin(['a/0']));
    // start has no parents: reusable.
    expect(cloneSource({ step: 'start', id: '0', stack: [], parents: [] }, () => origin([]))).toEqual(origin([]));
  });
});

describe('checkNext', () => {
  it('accepts the transition the source says, refuses a missing or different one with the line', () => {
    expect(checkNext(step('start'), 'flows/d.ts', { targets: ['each'], foreach: 'items' })).toBeUndefined();
    expect(checkNext(step('end'), 'flows/d.ts', undefined)).toBeUndefined();
    expect(checkNext(step('join'), 'flows/d.ts', undefined)).toMatchObject({ code: 'GRAPH_MISSING_NEXT', step: 'join', exitCode: 1, message: 'Step join returned without calling this.next(...).' });
    expect(checkNext(step('start'), 'flows/d.ts', { targets: ['each'] })).toMatchObject({
      code: 'GRAPH_DYNAMIC_NEXT',
      file: 'flows/d.ts',
      line: 4,
      step: 'start',
      message: 'Step start called next(each) but the graph read from the source says next(each, foreach items).',
    });
  });
});

describe('splitCount (--max-num-splits)', () => {
  const job = { step: 'start', splitField: 'items', maxNumSplits: 3 };
  const code = (value: unknown) => {
    try {
      return splitCount({ items: value }, job);
    } catch (e) {
      if (!isFlowError(e)) throw e;
      return e.code;
    }
  };

  it('counts any iterable up to the limit; refuses more, none, a string or a non-iterable', () => {
    expect(code([1, 2, 3])).toBe(3);
    expect(code(new Set(['a', 'b']))).toBe(2);
    expect(code(new Map([[1, 2]]))).toBe(1);
    expect(code([1, 2, 3, 4])).toBe('FOREACH_TOO_MANY');
    expect(code([])).toBe('FOREACH_EMPTY');
    expect(code('abc')).toBe('FOREACH_NOT_ITERABLE');
    expect(code(null)).toBe('FOREACH_NOT_ITERABLE');
    expect(code({ length: 2 })).toBe('FOREACH_NOT_ITERABLE');
  });

  it('the refusal names the count and the flag to raise', () => {
    try {
      splitCount({ items: [1, 2, 3, 4] }, job);
      expect.unreachable();
    } catch (e) {
      expect(isFlowError(e) && [e.message, e.fix, e.exitCode]).toEqual(['Step start fans out over 4 items of this.items, more than --max-num-splits (3).', 'Raise the limit with --max-num-splits 4, or split the work into fewer, larger items.', 1]);
    }
  });
});
