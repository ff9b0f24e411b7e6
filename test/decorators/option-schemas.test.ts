import * as v from 'valibot';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineDecorator } from '../../src/decorators/define.js';
import { isOptional, optionInfo } from '../../src/decorators/option.js';
import { validateDecoratorOptions } from '../../src/decorators/registry.js';
import { DECORATOR_SPECS } from '../../src/decorators/specs.js';
import type { retryDecorator } from '../../src/decorators/builtin/retry.js';
import type { RetryOptions } from '../../src/flow/decorators.js';

describe('decorator options are valibot schemas', () => {
  it('every option of every decorator is a schema carrying its kind and help', () => {
    for (const spec of DECORATOR_SPECS) {
      for (const [key, schema] of Object.entries(spec.options)) {
        expect(schema['~standard'].vendor, `@${spec.name} ${key}`).toBe('valibot');
        expect(optionInfo(schema).help.length, `@${spec.name} ${key}`).toBeGreaterThan(0);
      }
      // A spec's options parse as its object schema: writing none is valid unless one is required.
      const required = Object.values(spec.options).some((s) => !isOptional(s));
      expect(v.safeParse(v.object(spec.options), {}).success, spec.name).toBe(!required);
    }
  });

  it('the options type is the output type of the schema', () => {
    expectTypeOf<RetryOptions>().toEqualTypeOf<v.InferOutput<v.ObjectSchema<typeof retryDecorator.options, undefined>>>();
  });

  it('validation goes through the schema: a check the spec adds is enforced at check time with the decorator, step, place and a fix', () => {
    const demo = defineDecorator({
      name: 'demo',
      target: 'step',
      summary: 'A decorator of this test.',
      options: { n: v.exactOptional(v.pipe(v.number(), v.maxValue(10), v.metadata({ kind: 'number' as const, help: 'at most ten' }))) },
    });
    expect(validateDecoratorOptions(demo, { n: 5 }, {})).toEqual([]);
    const [error, ...more] = validateDecoratorOptions(demo, { n: 11 }, { file: 'flow.ts', line: 4, step: 'train' });
    expect(more).toEqual([]);
    expect(error?.message).toBe("@demo on step train: option 'n' must be <=10, got number 11.");
    expect(error?.fix).toBe("Give 'n' a number (at most ten).");
    expect({ code: error?.code, exitCode: error?.exitCode, file: error?.location.file, line: error?.location.line }).toEqual({ code: 'DECORATOR_INVALID', exitCode: 2, file: 'flow.ts', line: 4 });
  });
});
