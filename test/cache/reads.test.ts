import { afterEach, describe, expect, it } from 'vitest';
import { noteClock, noteRandom, TaskReadLog } from '../../src/task/reads.js';

const RealDate = Date;
afterEach(() => {
  // What the worker's realm check does after a task.
  globalThis.Date = RealDate;
  Object.defineProperty(RealDate.prototype, 'constructor', { value: RealDate, writable: true, enumerable: false, configurable: true });
});

describe('read probes of a cached task', () => {
  it('notes clock reads (Date.now, new Date(), Date()) but not dates built from values; dates still behave as dates', () => {
    const log = new TaskReadLog();
    noteClock(log);
    const d = new Date(2020, 1, 1);
    class Sub extends Date {}
    const s = new Sub(5);
    expect([d instanceof Date, d.constructor === Date, Object.prototype.toString.call(d), s instanceof Sub, s.getTime()]).toEqual([true, true, '[object Date]', true, 5]);
    expect(Date.UTC(2020, 0, 1)).toBe(1577836800000);
    expect(log.clock).toBe(false);
    Date.now();
    expect(log.clock).toBe(true);
    for (const read of [() => new Date(), () => Date()]) {
      const l = new TaskReadLog();
      noteClock(l);
      read();
      expect(l.clock).toBe(true);
    }
  });

  it('notes Math.random calls, and reports reads sorted, with join inputs per input', () => {
    const log = new TaskReadLog(2);
    const random = noteRandom(() => 0.5, log);
    log.artifact('b');
    log.artifact('a');
    log.param('alpha');
    log.input(1, 'score');
    log.input(0, 'score');
    log.input(1, 'loss');
    expect(log.result({ artifacts: ['x'], params: [] })).toEqual({ artifacts: ['a', 'b'], params: ['alpha'], inputs: [['score'], ['loss', 'score']], carried: { artifacts: ['x'], params: [] } });
    expect(random()).toBe(0.5);
    expect(log.result({ artifacts: [], params: [] }).random).toBe(true);
  });
});
