// Preloaded with --import into a process under test (see loaded-modules.ts): appends every module
// the process loads to the file named by FLOW_TEST_MODULES_OUT, one URL or path a line. ES modules
// are seen by a resolve hook (module.register), CommonJS ones by wrapping Module._load and, at
// exit, from require's cache (which also holds the CLI bundle bin/load-bundle.js compiles itself),
// each named by the file its code came from; Node's built-in modules from process.moduleLoadList
// at exit.
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

const out = process.env.FLOW_TEST_MODULES_OUT;
if (out) {
  register(new URL('./module-probe-hooks.mjs', import.meta.url), { data: { out } });
  const load = Module._load;
  Module._load = function probedLoad(request, parent, isMain) {
    const loaded = load.call(this, request, parent, isMain);
    try {
      // The file the module's code came from: bin/run.js gives a per-command bundle the name
      // package.json gives oclif (dist/cli/flow.cjs), and the probe reports the bundle.
      const file = Module._resolveFilename(request, parent, isMain);
      appendFileSync(out, `cjs ${Module._cache[file]?.filename ?? file}\n`);
    } catch {
      /* a built-in */
    }
    return loaded;
  };
  process.on('exit', () => {
    const cached = Object.entries(Module._cache).map(([path, m]) => `cjs ${m?.filename ?? path}\n`);
    const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => `bin ${m.slice('NativeModule '.length)}\n`);
    appendFileSync(out, [...cached, ...builtins].join(''));
  });
}
