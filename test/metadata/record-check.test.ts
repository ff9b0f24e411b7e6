import { describe, expect, it } from 'vitest';
import { checkRunRecord, checkTaskRecord } from '../../src/metadata/record-check.js';

// The record checks as valibot schemas (src/metadata/record-schema.ts): a valid record reads
// unchanged, and each malformed field is STORE_CORRUPT_RECORD naming that field, as before.
const H = 'a'.repeat(64);
const run = () =>
  ({
    schema: 'flowrun.run/1',
    id: 'run-7',
    flow: 'F',
    file: 'f.ts',
    status: 'ok',
    params: { a: 1 },
    seed: 1,
    tags: ['x'],
    started: '2026-01-01T00:00:00.000Z',
    host: 'h',
    pid: 1,
    flowrunVersion: '0.1.0',
    node: 'v20',
    steps: [{ name: 'start', type: 'start' }],
    user: 'alice',
    git: { commit: null, branch: null, dirty: true, remotes: {}, shallow: false, detached: false, patch: H },
    code: { hash: H, manifest: H, files: 1, bytes: 1 },
    includes: { data: { path: 'd.csv', hash: H, size: 1, binary: false } },
    origin: { run: 'run-6', step: 'start', reused: 2 },
    replayOf: 'run-5',
    whatIf: { a: 2 },
    extra: 'kept',
  }) as Record<string, unknown>;
const task = () =>
  ({
    schema: 'flowrun.task/1',
    run: 'run-7',
    step: 'start',
    id: '0',
    stack: [],
    parents: [],
    status: 'ok',
    attempts: [{ attempt: 0, logs: { stdout: H, stderr: H } }, { attempt: 1 }],
    artifacts: { x: { hash: H, size: 3 } },
    logs: { stdout: H, stderr: H },
  }) as Record<string, unknown>;

function fieldError(check: (v: unknown, p: string) => unknown, value: unknown): string {
  try {
    check(value, 'runs/run-7/x.json');
  } catch (e) {
    expect((e as { code?: string }).code).toBe('STORE_CORRUPT_RECORD');
    return (e as Error).message;
  }
  return 'passed';
}

describe('record checks', () => {
  it('return the very record read (no copy, unknown fields kept) when it is valid', () => {
    const r = run();
    const t = task();
    expect(checkRunRecord(r, 'p')).toBe(r);
    expect(checkTaskRecord(t, 'p')).toBe(t);
    expect(checkRunRecord({ ...run(), git: null, user: undefined, code: undefined, includes: undefined, origin: { run: 'run-1' } }, 'p')).toBeTruthy();
  });

  const runCases: Array<[string, unknown]> = [
    ['id', 'run-x'],
    ['id', 7],
    ['flow', null],
    ['status', 1],
    ['params', []],
    ['params', null],
    ['steps', [{ type: 'x' }]],
    ['steps', [['start']]],
    ['tags', [1]],
    ['user', ' alice'],
    ['user', ''],
    ['whatIf', []],
    ['replayOf', 5],
    ['origin', { reused: 1 }],
    ['origin', { run: 'r', reused: '1' }],
    ['origin', []],
    ['code', { hash: H }],
    ['code', { hash: 'short', manifest: H }],
    ['git', []],
    ['git', { patch: 'nothex' }],
    ['includes', { d: { hash: 1 } }],
    ['includes', JSON.parse(`{"__proto__": {"hash": "x"}}`)],
    ['includes', []],
  ];
  for (const [name, bad] of runCases) {
    it(`a run record with ${name}=${JSON.stringify(bad)} names the field "${name}"`, () => {
      expect(fieldError(checkRunRecord, { ...run(), [name]: bad })).toBe(`Record runs/run-7/x.json has a missing or malformed field "${name}".`);
    });
  }

  const taskCases: Array<[string, unknown]> = [
    ['step', 1],
    ['id', undefined],
    ['status', 'running'],
    ['parents', {}],
    ['attempts', [null]],
    ['attempts', [{ logs: { stdout: H } }]],
    ['artifacts', { x: { hash: H } }],
    ['artifacts', { x: { hash: H, size: '3' } }],
    ['artifacts', JSON.parse(`{"constructor": {"hash": 1, "size": 1}}`)],
    ['artifacts', []],
    ['logs', { stdout: H, stderr: 'x' }],
    ['logs', undefined],
  ];
  for (const [name, bad] of taskCases) {
    it(`a task record with ${name}=${JSON.stringify(bad)} names the field "${name}"`, () => {
      expect(fieldError(checkTaskRecord, { ...task(), [name]: bad })).toBe(`Record runs/run-7/x.json has a missing or malformed field "${name}".`);
    });
  }

  it('names the first bad field in the order the fields are checked', () => {
    expect(fieldError(checkRunRecord, { ...run(), tags: 'x', id: 1 })).toMatch(/field "id"/);
    expect(fieldError(checkTaskRecord, { ...task(), logs: 1, status: 'x' })).toMatch(/field "status"/);
  });

  it('keeps the schema tag and version checks: not a record, unknown tag, newer version', () => {
    expect(fieldError(checkRunRecord, [])).toMatch(/is not a record \(it holds an array\)/);
    expect(fieldError(checkTaskRecord, { ...task(), schema: 'flowrun.run/1' })).toMatch(/unknown schema tag "flowrun.run\/1"/);
    expect(() => checkRunRecord({ ...run(), schema: 'flowrun.run/2' }, 'p')).toThrow(expect.objectContaining({ code: 'STORE_VERSION_UNSUPPORTED' }));
  });
});
