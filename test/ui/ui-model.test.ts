import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIVE_LOG_MAX_BYTES, readLiveLog, readLiveStatus } from '../../src/runtime/live-read.js';
import type { RunRecord } from '../../src/metadata/records.js';
import { LiveRun } from '../../src/runtime/live.js';
import { LocalStore } from '../../src/store/local.js';
import { viewOf } from '../../src/ui/model/artifact-view.js';
import { parseRunsQuery, runsModel } from '../../src/ui/model/runs.js';
import { checkRequest } from '../../src/ui/security.js';

const store = () => LocalStore.open(mkdtempSync(join(tmpdir(), 'flowrun-ui-')));

describe('flow ui models', () => {
  it("keeps a running run's attempts and output for the live view, and removes them as tasks and the run end", async () => {
    const s = store();
    const live = new LiveRun(s, 'run-7', () => true);
    live.taskStarted('fit', '3', 0);
    live.output('fit', '3', 0, 'stdout', 'hello ');
    live.output('fit', '3', 0, 'stdout', 'wörld\n');
    await new Promise((r) => setTimeout(r, 400));
    expect(readLiveStatus(s, 'run-7')!.running).toEqual([{ step: 'fit', id: '3', attempt: 0, started: expect.any(String) }]);
    const first = readLiveLog(s, { run: 'run-7', step: 'fit', id: '3', attempt: 0 }, 'stdout', 0, 8)!;
    expect(first.text).toBe('hello w'); // cut before the 2-byte ö, never inside it
    const rest = readLiveLog(s, { run: 'run-7', step: 'fit', id: '3', attempt: 0 }, 'stdout', first.next)!;
    expect(first.text + rest.text).toBe('hello wörld\n');
    expect(readLiveLog(s, { run: 'run-7', step: '../x', id: '3', attempt: 0 }, 'stdout', 0)).toBeUndefined();
    live.output('fit', '3', 0, 'stderr', 'x'.repeat(LIVE_LOG_MAX_BYTES + 10));
    expect(readLiveLog(s, { run: 'run-7', step: 'fit', id: '3', attempt: 0 }, 'stderr', 0, 1)!.size).toBe(LIVE_LOG_MAX_BYTES);
    live.taskFinished('fit', '3');
    expect(readLiveLog(s, { run: 'run-7', step: 'fit', id: '3', attempt: 0 }, 'stdout', 0)).toBeUndefined();
    live.close();
    expect(existsSync(join(s.root, 'live', 'run-7'))).toBe(false);
  });

  it('filters runs by flow, status, tag and user, and marks replays with their verdict', () => {
    const rec = (id: string, flow: string, extra: Partial<RunRecord> & { user?: string } = {}) => ({ id, flow, status: 'ok', tags: [], started: '2026-01-01T00:00:00Z', steps: [], git: null, params: {}, ...extra }) as unknown as RunRecord;
    const runs = [rec('run-4', 'A', { replayOf: 'run-1', verdict: { reproduced: false, artifacts: { reproduced: 1, diverged: 1, missing: 0 } } }), rec('run-3', 'B', { status: 'failed', user: 'ann' }), rec('run-2', 'A', { tags: ['x'] }), rec('run-1', 'A')];
    const q = (s: string) => runsModel(runs, parseRunsQuery(new URLSearchParams(s)), 'local', '/s');
    expect(q('flow=A').rows.map((r) => r.id)).toEqual(['run-4', 'run-2', 'run-1']);
    expect(q('status=failed').rows.map((r) => r.id)).toEqual(['run-3']);
    expect(q('tag=x').rows.map((r) => r.id)).toEqual(['run-2']);
    expect(q('user=ann').rows.map((r) => r.id)).toEqual(['run-3']);
    expect(q('limit=1&offset=1')).toMatchObject({ total: 4, matched: 4, rows: [{ id: 'run-3' }] });
    expect(q('').rows[0]).toMatchObject({ replayOf: 'run-1', verdict: { reproduced: false } });
    expect(q('').facets).toEqual({ flows: ['A', 'B'], statuses: ['failed', 'ok'], tags: ['x'], users: ['ann'] });
  });

  it('fits a viewer to each value', () => {
    expect(viewOf([{ a: 1, b: 'x' }, { a: 2 }])).toEqual({
      kind: 'table',
      columns: ['a', 'b'],
      rows: [
        [1, 'x'],
        [2, null],
      ],
      totalRows: 2,
      truncated: false,
    });
    expect(viewOf('hi')).toMatchObject({ kind: 'text', text: 'hi' });
    expect(viewOf(3n)).toEqual({ kind: 'scalar', type: 'bigint', text: '3n' });
    expect(viewOf(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toEqual({ kind: 'image', mime: 'image/svg+xml', bytes: 41 });
    expect(viewOf(new Map([['k', [1]]]))).toMatchObject({ kind: 'json', type: 'Map(1)', value: { k: [1] } });
    const polluted = viewOf(JSON.parse('{"__proto__": {"polluted": 1}, "a": {"x": [1]}}')) as { value: Record<string, unknown> };
    expect(Object.hasOwn(polluted.value, '__proto__')).toBe(true);
    expect(({} as { polluted?: number }).polluted).toBeUndefined();
  });

  it("answers only GET/HEAD for its own host and origin, and never another site's embedded requests", () => {
    const ok = { host: '127.0.0.1:7430' };
    expect(checkRequest('GET', ok, 7430)).toEqual({ ok: true });
    expect(checkRequest('GET', { host: 'localhost:7430', origin: 'http://localhost:7430' }, 7430)).toEqual({ ok: true });
    expect(checkRequest('GET', { host: 'attacker.example:7430' }, 7430)).toMatchObject({ ok: false, status: 403 });
    expect(checkRequest('GET', { host: '127.0.0.1:7431' }, 7430)).toMatchObject({ ok: false, status: 403 });
    expect(checkRequest('GET', { ...ok, origin: 'http://127.0.0.1:7430.attacker.example' }, 7430)).toMatchObject({ ok: false, status: 403 });
    expect(checkRequest('GET', { ...ok, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' }, 7430)).toMatchObject({ ok: false, status: 403 });
    expect(checkRequest('GET', { ...ok, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' }, 7430)).toEqual({ ok: true });
    expect(checkRequest('PUT', ok, 7430)).toMatchObject({ ok: false, status: 405 });
  });
});
