/**
 * Loads now the Node built-ins that dist/bundle otherwise loads on their first use
 * (tools/runtime-builtins.ts: node:zlib, which only writing to the store needs). A task worker
 * calls it before any step runs, so that it holds those built-ins' functions as Node made them,
 * whatever a step later assigns to the module objects (as src/util/primordials.ts does for
 * hashing). In dist/src every built-in is an ordinary import, already loaded: nothing to do. The
 * runtime build replaces this module with one that loads the deferred built-ins.
 */
export function loadDeferredBuiltins(): void {}
