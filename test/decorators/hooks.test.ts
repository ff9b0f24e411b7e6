import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { retryDecorator } from '../../src/decorators/builtin/retry.js';
import { cacheChoice, cardRequest, declaresEnvironment, environmentUse, hooksOf, resultDecorators, stepBackend } from '../../src/decorators/hooks.js';
import { decoratorSpec } from '../../src/decorators/registry.js';
import { stepSettings } from '../../src/decorators/settings.js';
import { DECORATOR_SPECS } from '../../src/decorators/specs.js';
import type { DecoratorSpec, DecoratorUse } from '../../src/decorators/types.js';
import type { BatchOptions, EnvironmentOptions, RetryOptions } from '../../src/flow/decorators.js';
import type { ParamOptions } from '../../src/flow/metadata.js';
import { extractGraph } from '../../src/graph/extract.js';
import { LocalStore } from '../../src/store/local.js';
import type { TaskBackend } from '../../src/runtime/backend.js';
import { afterFailure } from '../../src/runtime/decisions.js';
import { NO_LOGS } from '../../src/runtime/task-logs.js';
import { Scheduler } from '../../src/runtime/scheduler.js';
import type { TaskJob } from '../../src/task/protocol.js';

// Decorators as plugins: the scheduler, env preparation, backend selection, the step cache and
// the task ask a step's decorators through their hooks (src/decorators/hooks.ts), never by name.

const use = (name: string, options: DecoratorUse['options'] = {}): DecoratorUse => ({ name, options });
const DEFAULTS = stepSettings([]);

describe('the registry', () => {
  it('lists every decorator of src/decorators/builtin/ once, each with its own name', async () => {
    const dir = join(import.meta.dirname, '../../src/decorators/builtin');
    const exported: DecoratorSpec[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const mod = (await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>;
      exported.push(...Object.values(mod).filter((v): v is DecoratorSpec => typeof v === 'object' && v !== null && 'target' in v && 'summary' in v));
    }
    expect(new Set(exported)).toEqual(new Set(DECORATOR_SPECS));
    expect(new Set(DECORATOR_SPECS.map((s) => s.name)).size).toBe(DECORATOR_SPECS.length);
  });

  it('option types are read from the specs', () => {
    expectTypeOf<RetryOptions>().toEqualTypeOf<{ times?: number; minutesBetween?: number }>();
    expectTypeOf<EnvironmentOptions>().toEqualTypeOf<{ vars: Record<string, string> }>();
    expectTypeOf<ParamOptions['type']>().toEqualTypeOf<'number' | 'string' | 'boolean' | 'json' | undefined>();
    // Every @batch option the spec accepts can be written in TypeScript too (they were 5 of 15).
    expectTypeOf<BatchOptions>().toHaveProperty('sharedMemory');
    expectTypeOf<keyof BatchOptions>().toEqualTypeOf<keyof typeof import('../../src/decorators/builtin/batch.js').batchDecorator.options>();
  });
});

describe('hook dispatch', () => {
  it('a decorator with no hooks changes nothing', () => {
    const plain: DecoratorSpec = { name: 'plain', target: 'step', summary: 'no behaviour', options: {} };
    const lookup = (name: string) => (name === 'plain' ? plain : decoratorSpec(name));
    expect(stepSettings([use('plain')], lookup)).toEqual(DEFAULTS);
    expect(stepSettings([use('retry', { times: 1 }), use('plain')], lookup)).toEqual(stepSettings([use('retry', { times: 1 })]));
    // Builtin decorators whose behaviour lives at other points leave the task settings alone.
    for (const name of ['batch', 'npm', 'conda', 'card', 'cache']) expect(stepSettings([use(name)])).toEqual(DEFAULTS);
    const none = [use('retry'), use('timeout', { seconds: 1 }), use('resources', { memory: 64 })];
    expect([stepBackend(none), cacheChoice(none), cardRequest(none), resultDecorators(none), declaresEnvironment(none)]).toEqual([undefined, undefined, undefined, [], false]);
  });

  it('settings come from whichever decorator has the hook, not from its name', () => {
    const twice: DecoratorSpec = {
      name: 'twice',
      target: 'step',
      summary: 'two attempts',
      options: {},
      hooks: {
        taskSettings: (_o, s) => {
          s.attempts = 2;
        },
      },
    };
    const settings = stepSettings([use('twice')], (name) => (name === 'twice' ? twice : undefined));
    expect([0, 1].map((a) => afterFailure(settings, a, { stopping: false, foreachStep: false }))).toEqual(['retry', 'fail']);
    expect(hooksOf(use('unknown'))).toBeUndefined();
  });

  it('environment, backend, cache and card questions are answered by the hooks', () => {
    const step = [use('card', { title: 'Report' }), use('batch', { queue: 'q' }), use('cache', { enabled: false }), use('environment', { vars: { A: '1' } }), use('npm', { packages: { lodash: '^4' } })];
    expect(stepBackend(step)).toBe('batch');
    expect(cacheChoice(step)).toBe(false);
    expect(cacheChoice([use('cache')])).toBe(true);
    expect(cardRequest(step)).toEqual({ title: 'Report' });
    expect(resultDecorators(step).map((d) => d.name)).toEqual(['card', 'environment']);
    expect(environmentUse(step, 'npm')?.options).toEqual({ packages: { lodash: '^4' } });
    expect(environmentUse(step, 'conda')).toBeUndefined();
    expect(environmentUse([use('condaBase', { python: '3.11' })], 'conda')?.name).toBe('condaBase');
    expect(declaresEnvironment([use('condaBase')])).toBe(true);
  });
});

describe('the scheduler', () => {
  const root = mkdtempSync(join(tmpdir(), 'flowrun-hooks-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const { graph } = extractGraph(
    'flows/h.ts',
    `
import { FlowSpec, step, retry } from 'flowrun';
export default class H extends FlowSpec {
  @retry({ times: 2 }) @step start() { this.next(this.end); }
  @step end() {}
}`,
  );

  /** A backend whose every attempt fails, counting the attempts it is given. */
  function failingBackend(): TaskBackend & { jobs: TaskJob[] } {
    const jobs: TaskJob[] = [];
    return {
      name: 'failing',
      capacity: 1,
      jobs,
      run: async (job) => {
        jobs.push(job);
        return { result: { ok: false, error: { code: 'TASK_FAILED', message: 'boom', step: job.step, exitCode: 1 } }, logs: NO_LOGS };
      },
      abort: () => undefined,
    };
  }

  async function runStart(run: string): Promise<number> {
    const backend = failingBackend();
    const store = LocalStore.open(join(root, 'store'));
    const result = await new Scheduler({ graph: graph!, run, store, backendFor: () => backend, modulePath: '/nowhere.mjs', params: {}, seed: 1, maxNumSplits: 10 }).execute();
    expect(result.status).toBe('failed');
    return backend.jobs.length;
  }

  it("takes its attempts from @retry's taskSettings hook", async () => {
    expect(await runStart('1')).toBe(3);
    const hook = vi.spyOn(retryDecorator.hooks!, 'taskSettings').mockImplementation((_o, s) => {
      s.attempts = 5;
    });
    try {
      expect(await runStart('2')).toBe(5);
      expect(hook).toHaveBeenCalledWith({ times: 2 }, expect.objectContaining({ attempts: 5 }));
    } finally {
      hook.mockRestore();
    }
  });
});
