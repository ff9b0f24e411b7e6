// Preloaded with --import into a process under test (see loaded-modules.ts): appends every module
// the process loads to the file named by FLOW_TEST_MODULES_OUT, one URL or path a line. ES modules
// are seen by a resolve hook (module.register), CommonJS ones by wrapping Module._load and, at
// exit, from require's cache (which also holds the CLI bundle bin/load-bundle.js compiles itself);
// Node's built-in modules from process.moduleLoadList at exit.
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

const out = process.env.FLOW_TEST_MODULES_OUT;
if (out) {
  register(new URL('./module-probe-hooks.mjs', import.meta.url), { data: { out } });
  const load = Module._load;
  Module._load = function probedLoad(request, parent, isMain) {
    const loaded = load.call(this, request, parent, isMain);
    try {
      appendFileSync(out, `cjs ${Module._resolveFilename(request, parent, isMain)}\n`);
    } catch {
      /* a built-in */
    }
    return loaded;
  };
  process.on('exit', () => {
    const cached = Object.keys(Module._cache).map((path) => `cjs ${path}\n`);
    const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => `bin ${m.slice('NativeModule '.length)}\n`);
    appendFileSync(out, [...cached, ...builtins].join(''));
  });
}
