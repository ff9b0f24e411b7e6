import { describe, expect, it } from 'vitest';
import { decoratorSpec, validateDecoratorOptions } from '../../src/decorators/registry.js';

/**
 * The messages `flow check` gives for bad decorator options, word for word: they were written by
 * hand-coded checks and are now produced from the option schemas, so each kind of check of each
 * kind of option is pinned here (the same table passes on the code before the schemas).
 */
const where = { file: 'flow.ts', line: 7, step: 'start' };

function messages(name: string, options: unknown): string[] {
  return validateDecoratorOptions(decoratorSpec(name)!, options, where).map((e) => `${e.message} | ${e.fix}`);
}

describe('decorator option messages', () => {
  it.each([
    ['retry', { times: 'three' }, "@retry on step start: option 'times' must be a number, got the string \"three\". | Give 'times' a whole number (extra attempts after the first (default 3))."],
    ['retry', { times: 1.5 }, "@retry on step start: option 'times' must be a whole number, got 1.5. | Give 'times' a whole number (extra attempts after the first (default 3))."],
    ['retry', { times: -1 }, "@retry on step start: option 'times' must be at least 0, got -1. | Give 'times' a whole number (extra attempts after the first (default 3))."],
    ['retry', { times: -1.5 }, "@retry on step start: option 'times' must be a whole number, got -1.5. | Give 'times' a whole number (extra attempts after the first (default 3))."],
    ['timeout', { seconds: Number.POSITIVE_INFINITY }, "@timeout on step start: option 'seconds' must be a number, got number Infinity. | Give 'seconds' a number (seconds)."],
    ['timeout', { minutes: Number.NaN }, "@timeout on step start: option 'minutes' must be a number, got number NaN. | Give 'minutes' a number (minutes)."],
    ['timeout', { hours: null }, "@timeout on step start: option 'hours' must be a number, got null. | Give 'hours' a number (hours)."],
    ['catchError', { printException: 'no' }, "@catchError on step start: option 'printException' must be true or false, got the string \"no\". | Give 'printException' true or false (print the error to the log (default true))."],
    ['card', { title: 3 }, "@card on step start: option 'title' must be a string, got number 3. | Give 'title' a string (the card's title)."],
    ['conda', { channels: ['a', 1] }, "@conda on step start: option 'channels' must be an array of strings, got an array. | Give 'channels' an array of strings (channels, in priority order)."],
    ['npm', { packages: ['lodash'] }, "@npm on step start: option 'packages' must be an object of strings ({ name: 'value' }), got an array. | Give 'packages' an object of strings (package name → semver range)."],
    ['npm', { packages: { lodash: 4 } }, "@npm on step start: option 'packages' must be an object of strings ({ name: 'value' }), got an object. | Give 'packages' an object of strings (package name → semver range)."],
    ['environment', {}, "@environment on step start needs the option 'vars'. | Add vars: … (name → value)."],
    ['param', { type: 'float' }, "@param on step start: option 'type' must be one of number, string, boolean, json, got \"float\". | Write type: 'number'. 'type' is one of 'number', 'string', 'boolean', 'json' (needed when the default is not a literal)."],
    ['param', { type: 'jsn' }, "@param on step start: option 'type' must be one of number, string, boolean, json, got \"jsn\". | Write type: 'json'. 'type' is one of 'number', 'string', 'boolean', 'json' (needed when the default is not a literal)."],
    ['param', { type: 5 }, "@param on step start: option 'type' must be a string, got number 5. | Give 'type' a string (needed when the default is not a literal)."],
    ['param', { default: 1 }, "@param on step start has an unknown option 'default'. | A parameter's default is the value its field starts with: @param({ help: '...' }) alpha = 0.1;"],
    ['resources', { memroy: 1 }, "@resources on step start has an unknown option 'memroy'. | Did you mean 'memory'? Known options: cpu, memory, gpu."],
    ['batch', 'fast', '@batch on step start takes an options object, got the string "fast". | Write it as @batch({ queue, image, cpu, memory, gpu, sharedMemory, tmpfs, efs, hostVolumes, ulimits, logOptions, tags, privileged, ephemeralStorage, hostRetries }).'],
    ['batch', { ephemeralStorage: 20 }, "@batch on step start: option 'ephemeralStorage' must be at least 21, got 20. | Give 'ephemeralStorage' a whole number (disk in GiB, 21-200 (Fargate))."],
  ])('@%s(%j)', (name, options, expected) => {
    expect(messages(name, options)).toEqual([expected]);
  });

  it('lists each given option in the order written, then the required ones left out', () => {
    expect(messages('environment', { vras: {}, bogus: 1 }).map((m) => m.split(' | ')[0])).toEqual(["@environment on step start has an unknown option 'vras'.", "@environment on step start has an unknown option 'bogus'.", "@environment on step start needs the option 'vars'."]);
    expect(messages('retry', { minutesBetween: -1, tims: 2, times: 'x' }).map((m) => m.split(' | ')[0])).toEqual([
      "@retry on step start: option 'minutesBetween' must be at least 0, got -1.",
      "@retry on step start has an unknown option 'tims'.",
      '@retry on step start: option \'times\' must be a number, got the string "x".',
    ]);
  });
});
