import { chownSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { copyFlow, flow, REPO, tempDir, tempProject } from '../helpers/cli.js';
import { flowModules, packagesOf, readModules } from '../helpers/loaded-modules.js';

// What keeps the CLI fast (issue #18), checked on the modules a command actually loads, not on
// timings: oclif and the library come from a bundle, dist/cli/flow-WORD.cjs with only the
// command's own part for a command, dist/cli/flow.cjs otherwise (never the ~130 files of
// @oclif/core nor the library's ES modules under dist/src), a read command loads none of the
// heavy packages only writing or remote commands need, nor Node's modules it does not use, and
// the bundle's compiled code is kept between runs.
const HEAVY = ['@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@aws-sdk/client-batch', 'esbuild', 'isomorphic-git', 'oxc-parser', '@conda-org/rattler', 'tar'];
const CLI_DIR = join(REPO, 'dist', 'cli');
const BUNDLE = join(CLI_DIR, 'flow.cjs');
/** What `import 'flowrun'` and the task workers load (tools/build-runtime.ts). */
const RUNTIME_BUNDLE = join(REPO, 'dist', 'bundle', 'task', 'flowrun.cjs');
/** The bundle a command line loads: its first word's, or the whole CLI's. */
const bundleOf = (args: string[]) => (args[0]!.startsWith('-') ? BUNDLE : join(CLI_DIR, `flow-${args[0]}.cjs`));

let dir = '';
let file = '';

beforeAll(async () => {
  dir = await tempProject();
  file = copyFlow(dir, 'linear.ts');
  const r = await flow(['run', file, '-q'], { cwd: dir });
  expect(r.exitCode, r.stderr).toBe(0);
});

describe('CLI start-up: modules loaded', () => {
  const readCommands: Array<[string, () => string[]]> = [
    ['--version', () => ['--version']],
    ['show', () => ['show', file]],
    ['check', () => ['check', file]],
    ['get', () => ['get', 'run-1', 'result']],
    ['inspect', () => ['inspect', 'run-1', '--json']],
    ['runs', () => ['runs', '--json']],
  ];

  for (const [name, args] of readCommands) {
    it(`flow ${name} loads oclif and the library from its bundle only and none of ${HEAVY.join(', ')}`, async () => {
      const r = await flowModules(args(), dir);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.modules.filter((m) => m.startsWith(CLI_DIR))).toEqual([bundleOf(args())]);
      expect(r.modules.filter((m) => m.includes('/dist/src/'))).toEqual([]);
      const packages = packagesOf(r.modules);
      expect(packages.filter((p) => HEAVY.includes(p) || p.startsWith('@oclif/'))).toEqual([]);
    });
  }

  it("node-tar is compiled into the bundles of the commands that pack or unpack code packages (run, resume, replay, code), none of the read commands'", () => {
    // Required from node_modules it cost flow run ~40 ms of CPU to load (tools/build-cli.ts,
    // BUNDLED_PACKAGES); bundled, esbuild keeps the parts flowrun uses and V8 caches their code.
    // 'TAR_BAD_ARCHIVE' is one of node-tar's error codes (a string minifying keeps).
    const holdsTar = (word: string) => /["']TAR_BAD_ARCHIVE["']/.test(readFileSync(join(CLI_DIR, `flow-${word}.cjs`), 'latin1'));
    expect(['run', 'resume', 'replay', 'code'].filter(holdsTar)).toEqual(['run', 'resume', 'replay', 'code']);
    expect(readCommands.map(([name]) => name).filter((w) => !w.startsWith('-') && holdsTar(w))).toEqual([]);
  });

  it('flow --version loads none of the Node modules oclif and the library load but do not need for it', async () => {
    const r = await flowModules(['--version'], dir);
    expect(r.stdout).toMatch(/^flowrun\/\d+\.\d+\.\d+ /);
    // child_process, readline, perf_hooks: oclif's (lazy in the bundle); fs/promises: oclif reads
    // its package.json with it; crypto, zlib: the store's.
    const unneeded = ['child_process', 'readline', 'perf_hooks', 'fs/promises', 'crypto', 'zlib'];
    expect(r.builtins.filter((m) => unneeded.includes(m))).toEqual([]);
  });

  it("flow get and flow inspect load none of the store's write-side Node modules; inspect (no hash to compute) not node:crypto either", async () => {
    // The store's module imports them for writing objects (tools/lazy-builtins.ts); fs/promises
    // alone brings readline, fs.Dir and the file watchers.
    const writeSide = ['zlib', 'fs/promises', 'readline'];
    const get = await flowModules(['get', 'run-1', 'result'], dir);
    expect(get.exitCode, get.stderr).toBe(0);
    expect(get.builtins).toContain('crypto'); // the artifact is verified against its hash as it is read (crypto loads Node's streams)
    expect(get.builtins.filter((m) => writeSide.includes(m))).toEqual([]);
    for (const args of [
      ['inspect', 'run-1'],
      ['inspect', 'run-1', '--json'],
      ['inspect', 'run-1/start/0'],
    ]) {
      const r = await flowModules(args, dir);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(
        r.builtins.filter((m) => [...writeSide, 'crypto'].includes(m)),
        args.join(' '),
      ).toEqual([]);
    }
  });

  it("a read command that writes nothing to stderr never creates Node's stderr stream (a socket when stderr is a pipe): oclif prints without the console", async () => {
    const tmp = tempDir('flowrun-stderr-');
    // Records the first read of process.stderr (Node creates the stream then).
    writeFileSync(
      join(tmp, 'probe.cjs'),
      `const d = Object.getOwnPropertyDescriptor(process, 'stderr');
Object.defineProperty(process, 'stderr', { configurable: true, enumerable: d.enumerable, get() {
  require('fs').writeFileSync(${JSON.stringify(join(tmp, 'touched'))}, new Error().stack);
  Object.defineProperty(process, 'stderr', d);
  return d.get.call(process);
} });
`,
    );
    for (const args of [['get', 'run-1', 'result'], ['--version'], ['show', file]]) {
      const r = await execa(process.execPath, ['-r', join(tmp, 'probe.cjs'), join(REPO, 'bin', 'run.js'), ...args], { cwd: dir, reject: false, stdin: 'ignore' });
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(String(r.stdout)).not.toBe('');
      expect(existsSync(join(tmp, 'touched')) ? readFileSync(join(tmp, 'touched'), 'utf8') : '', args.join(' ')).toBe('');
    }
  });

  it.runIf(process.platform === 'linux')("a read command never makes Node's stdout stream (its stream modules; a socket for a pipe): output goes to the file descriptor, complete", async () => {
    const tmp = tempDir('flowrun-stdout-');
    // Records the first read of process.stdout (Node makes the stream then).
    writeFileSync(
      join(tmp, 'probe.cjs'),
      `const d = Object.getOwnPropertyDescriptor(process, 'stdout');
Object.defineProperty(process, 'stdout', { configurable: true, enumerable: d.enumerable, get() {
  require('fs').writeFileSync(${JSON.stringify(join(tmp, 'touched'))}, new Error().stack);
  Object.defineProperty(process, 'stdout', d);
  return d.get.call(process);
} });
`,
    );
    for (const args of [['get', 'run-1', 'result'], ['--version'], ['show', file], ['check', file], ['inspect', 'run-1', '--json'], ['runs', '--json']]) {
      const plain = await flow(args, { cwd: dir });
      const r = await execa(process.execPath, ['-r', join(tmp, 'probe.cjs'), join(REPO, 'bin', 'run.js'), ...args], { cwd: dir, reject: false, stdin: 'ignore' });
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(String(r.stdout)).not.toBe('');
      expect(String(r.stdout), args.join(' ')).toBe(plain.stdout);
      expect(existsSync(join(tmp, 'touched')) ? readFileSync(join(tmp, 'touched'), 'utf8') : '', args.join(' ')).toBe('');
    }
  });

  it.runIf(process.platform === 'linux')('output larger than a pipe holds arrives whole on a non-blocking pipe (set so by the parent), and a reader that stops early is no error', async () => {
    const many = await tempProject();
    const f = copyFlow(many, 'linear.ts');
    expect((await flow(['run', f, '-q'], { cwd: many })).exitCode).toBe(0);
    const runs = join(many, '.flow', 'runs');
    const record = JSON.parse(readFileSync(join(runs, 'run-1', 'run.json'), 'utf8')) as { id: string };
    for (let i = 2; i <= 150; i++) {
      cpSync(join(runs, 'run-1'), join(runs, `run-${i}`), { recursive: true });
      writeFileSync(join(runs, `run-${i}`, 'run.json'), JSON.stringify({ ...record, id: `run-${i}` }));
    }
    // A parent that sets O_NONBLOCK on the pipe the child shares (a Node parent does not: libuv
    // makes a child's stdio blocking) and runs flow on it; the shell's pipe (64 KiB) is read only
    // after a pause, so it fills and a write of the rest fails with EAGAIN.
    const parent = `import fcntl, os, subprocess, sys; fcntl.fcntl(1, fcntl.F_SETFL, fcntl.fcntl(1, fcntl.F_GETFL) | os.O_NONBLOCK); sys.exit(subprocess.run([${JSON.stringify(process.execPath)}, ${JSON.stringify(join(REPO, 'bin', 'run.js'))}, 'runs', '--json']).returncode)`;
    const piped = await execa('sh', ['-c', `python3 -c ${JSON.stringify(parent)} | (sleep 1; cat)`], { cwd: many, reject: false });
    expect(String(piped.stderr)).toBe('');
    const text = String(piped.stdout);
    expect(text.length).toBeGreaterThan(200_000);
    expect((JSON.parse(text) as { runs: unknown[] }).runs).toHaveLength(150);
    const head = await execa('sh', ['-c', `${JSON.stringify(process.execPath)} ${JSON.stringify(join(REPO, 'bin', 'run.js'))} runs --json | head -c 100`], { cwd: many, reject: false });
    expect(String(head.stdout)).toBe(text.slice(0, 100));
    expect(String(head.stderr)).toBe('');
  });

  it("flow runs takes no argument from stdin: a script's pipe is neither read (no readline) nor taken for the flow name", async () => {
    const piped = await flow(['runs', '--json'], { cwd: dir, stdin: 'pipe', input: 'NoSuchFlow\n' });
    expect(piped.exitCode, piped.stderr).toBe(0);
    expect((JSON.parse(piped.stdout) as { runs: unknown[] }).runs).toHaveLength(1);
    const r = await flowModules(['runs', '--json'], dir);
    expect(r.builtins).not.toContain('readline');
  });

  it('the probe sees modules loaded on demand: check with its caches removed loads esbuild, oxc-parser and the graph extractor (an ES module) from dist/src', async () => {
    rmSync(join(dir, 'node_modules', '.cache'), { recursive: true, force: true });
    const check = await flowModules(['check', file], dir);
    expect(check.exitCode, check.stderr).toBe(0);
    expect(packagesOf(check.modules)).toContain('esbuild');
    expect(packagesOf(check.modules)).toContain('oxc-parser');
    expect(check.modules).toContain(join(REPO, 'dist', 'src', 'graph', 'extract.js'));
    expect(check.builtins).toContain('child_process');
  });

  it("help comes from oclif's help plugin (bundled as one of flowrun's commands)", async () => {
    const r = await flow(['help', 'get'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/USAGE\n\s+\$ flow get PATH NAME/);
    const all = await flow(['--help'], { cwd: dir });
    expect(all.stdout).toMatch(/\n {2}help +Display help for flow\.\n/);
  });
});

describe('CLI start-up: one bundle per command word (tools/build-cli.ts)', () => {
  it("each command's first word has a bundle holding exactly that word's commands; together they hold every command but help, which flow.cjs holds with all the others", async () => {
    const manifest = JSON.parse(readFileSync(join(REPO, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, unknown> };
    const files = readdirSync(CLI_DIR).filter((f) => f.endsWith('.cjs'));
    // Each bundle in its own process: the commands each one exports (package.json's "explicit" discovery names COMMANDS).
    const script = `const files = ${JSON.stringify(files)}; process.stdout.write(JSON.stringify(Object.fromEntries(files.map((f) => [f, Object.keys(require(${JSON.stringify(CLI_DIR)} + '/' + f).COMMANDS).sort()]))))`;
    const r = await execa(process.execPath, ['-e', script], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const commandsOf = JSON.parse(r.stdout) as Record<string, string[]>;
    const ids = Object.keys(manifest.commands).sort();
    expect(commandsOf['flow.cjs']).toEqual(ids);
    const words = [...new Set(ids.filter((id) => id !== 'help').map((id) => id.split(':')[0]!))].sort();
    expect(Object.keys(commandsOf).sort()).toEqual(['flow.cjs', ...words.map((w) => `flow-${w}.cjs`)].sort());
    for (const w of words) expect(commandsOf[`flow-${w}.cjs`]).toEqual(ids.filter((id) => id === w || id.startsWith(`${w}:`)));
    expect(commandsOf['flow-cache.cjs']).toEqual(['cache:clear', 'cache:verify']);
  });

  it("a word's bundle serves its whole command line as the full CLI would: a topic's subcommands, --help, a flow's parameters in run's help", async () => {
    const lines = [
      ['cache', 'verify', '--help'],
      ['inspect', '--help'],
      ['run', file, '--help'],
      ['get', 'run-1', 'nosuch'],
    ];
    for (const args of lines) {
      // The same command line through the whole CLI: bin/run.js loads it for a word it has no bundle of.
      const whole = await execa(process.execPath, ['-e', `require(${JSON.stringify(join(REPO, 'bin', 'load-bundle.js'))}).loadBundle(${JSON.stringify(BUNDLE)}).run(${JSON.stringify(REPO)})`, 'flow', ...args], { cwd: dir, reject: false });
      const own = await flow(args, { cwd: dir });
      expect({ args, out: own.stdout, err: own.stderr, code: own.exitCode }).toEqual({ args, out: whole.stdout, err: whole.stderr, code: whole.exitCode });
    }
  });
});

describe('flow run: what a run without environments loads', () => {
  it('a flow without @npm/@conda loads none of the environment machinery (semver, the archive decoders, the conda solver)', async () => {
    const r = await flowModules(['run', file, '-q'], dir);
    expect(r.exitCode, r.stderr).toBe(0);
    // The probe is inherited by the workers: their modules are in the list too.
    expect(packagesOf(r.modules).filter((p) => ['semver', 'fflate', 'fzstd', 'seek-bzip', '@conda-org/rattler'].includes(p))).toEqual([]);
    // The workers and the flow's import of 'flowrun' load the runtime build (tools/build-runtime.ts), not dist/src's ES modules.
    expect(r.modules).toContain(join(REPO, 'dist', 'bundle', 'task', 'worker.cjs'));
    expect(r.modules).toContain(join(REPO, 'dist', 'bundle', 'index.js'));
    expect(r.modules.filter((m) => m.includes('/dist/src/'))).toEqual([]);
  });

  it("a script's import from 'flowrun' loads the runtime build (a few files), not dist/src", async () => {
    const modules = await clientModules(dir);
    expect(modules.filter((m) => m.includes('/dist/src/'))).toEqual([]);
    expect(modules.filter((m) => m.includes('/dist/bundle/')).length).toBeLessThanOrEqual(2);
  });

  it("require('flowrun') serves a CommonJS script that loads no ES module, and a process that both requires and imports flowrun holds one library", async () => {
    const builtins = await clientBuiltins(dir, 'cjs');
    expect(builtins).not.toContain('internal/modules/esm/module_job'); // no ES module is loaded
    writeFileSync(
      join(dir, 'both.mjs'),
      "import { createRequire } from 'node:module';\nimport * as imported from 'flowrun';\nconst required = createRequire(import.meta.url)('flowrun');\nconsole.log(JSON.stringify(Object.keys(imported).filter((k) => imported[k] !== required[k])), Object.keys(imported).length === Object.keys(required).length);\n",
    );
    const both = await execa(process.execPath, ['both.mjs'], { cwd: dir, reject: false });
    expect(both.exitCode, String(both.stderr)).toBe(0);
    expect(String(both.stdout)).toBe('[] true');
  });

  it("a script's read of the latest run and an artifact loads no package from node_modules: valibot is compiled into the runtime build, not its 200 KB module", async () => {
    const modules = await clientModules(dir);
    expect(packagesOf(modules)).toEqual([]);
    // What `import 'flowrun'` loads: the entry (an ES module) and the bundle it requires.
    expect(modules.filter((m) => m.includes('/dist/bundle/')).length).toBeLessThanOrEqual(2);
  });

  it("a script's read of the latest run and an artifact evaluates neither the task worker nor the artifact encoder, though its bundle holds them", async () => {
    const loaded = (await clientModules(dir)).filter((m) => m.includes('/dist/bundle/'));
    expect(loaded.sort()).toEqual([join(REPO, 'dist', 'bundle', 'index.js'), RUNTIME_BUNDLE]);
    const source = readFileSync(RUNTIME_BUNDLE, 'utf8');
    // The worker's modules are behind an import() (tools/build-runtime.ts): esbuild wraps each in
    // an init function the script never calls, so neither they nor the built-ins only they use
    // (child_process, inspector) are evaluated, and V8 compiles none of their functions.
    expect(source).toContain('function encodeArtifact(');
    expect(source).toMatch(/init_worker_main=__esm\(/);
    expect(source).toMatch(/init_execute=__esm\(/);
    const builtins = await clientBuiltins(dir);
    expect(builtins.filter((m) => ['child_process', 'inspector', 'v8', 'zlib'].includes(m))).toEqual([]);
  });
});

describe("Node's built-in modules: what import 'flowrun' loads, and what a worker holds before a step runs", () => {
  it("a script's read of the latest run and an artifact loads no built-in module only an ES facade's getters would (WebCrypto, parseArgs, MIMEType, File, fs streams)", async () => {
    const builtins = await clientBuiltins(dir);
    expect(builtins).toContain('crypto'); // the artifact is checked against its hash
    const unused = ['internal/crypto/webcrypto', 'internal/util/parse_args/parse_args', 'internal/mime', 'internal/file', 'internal/fs/streams'];
    expect(builtins.filter((m) => unused.includes(m))).toEqual([]);
    // Only writing to the store compresses: dist/bundle loads node:zlib on first use (tools/runtime-builtins.ts).
    expect(builtins).not.toContain('zlib');
  });

  it("a step that replaces node:crypto's createHash and the Hash methods changes no hash the worker computes: they were taken when the worker loaded", async () => {
    const project = await tempProject({
      'flows/tamper.ts': `import crypto from 'node:crypto';
import { FlowSpec, step } from 'flowrun';
export default class TamperFlow extends FlowSpec {
  x!: string;
  @step start() {
    const proto = Object.getPrototypeOf(crypto.createHash('sha256'));
    proto.update = function () { return this; };
    proto.digest = () => 'f'.repeat(64);
    (crypto as { createHash: unknown }).createHash = () => { throw new Error('tampered'); };
    this.x = 'kept as written';
    this.next(this.end);
  }
  @step end() {}
}
`,
    });
    await expectStoredAsWritten(project, 'flows/tamper.ts', 'x', 'kept as written');
  });

  it("a step that replaces node:zlib's functions changes nothing the worker stores: it loaded zlib (deferred in dist/bundle) before the step ran", async () => {
    const project = await tempProject({
      'flows/zlib.ts': `import zlib from 'node:zlib';
import { FlowSpec, step } from 'flowrun';
export default class ZlibFlow extends FlowSpec {
  text!: string;
  @step start() {
    // An artifact of 1 KiB or more is compressed as the worker stores it (after the step).
    const garbage = () => Buffer.from('not gzip at all');
    Object.assign(zlib, { gzipSync: garbage, gunzipSync: garbage, deflateSync: garbage });
    this.text = 'flowrun '.repeat(1000);
    this.next(this.end);
  }
  @step end() {}
}
`,
    });
    await expectStoredAsWritten(project, 'flows/zlib.ts', 'text', 'flowrun '.repeat(1000));
  });
});

/** Runs the flow, reads the artifact of run-1 back in the CLI (checked against its hash) and checks the store with fsck. */
async function expectStoredAsWritten(project: string, flowFile: string, artifact: string, value: unknown): Promise<void> {
  const run = await flow(['run', flowFile, '-q'], { cwd: project });
  expect(run.exitCode, run.stderr).toBe(0);
  const got = await flow(['get', 'run-1', artifact, '--json'], { cwd: project });
  expect(got.exitCode, got.stderr).toBe(0);
  expect((JSON.parse(got.stdout) as { value: unknown }).value).toBe(value);
  const fsck = await flow(['fsck'], { cwd: project });
  expect(fsck.exitCode, fsck.stdout + fsck.stderr).toBe(0);
}

/** Node's built-in modules a script that reads the latest run and an artifact loads (an ES module script, or a CommonJS one). */
async function clientBuiltins(cwd: string, kind: ScriptKind = 'mjs'): Promise<string[]> {
  const tmp = tempDir('flowrun-builtins-');
  // A plain preload, not the module probe: its loader hooks run a thread of their own.
  writeFileSync(join(tmp, 'list.cjs'), `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(join(tmp, 'loaded.txt'))}, process.moduleLoadList.join('\\n')));\n`);
  await runLatest(cwd, ['-r', join(tmp, 'list.cjs')], {}, kind);
  return readFileSync(join(tmp, 'loaded.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('NativeModule '))
    .map((l) => l.slice('NativeModule '.length));
}

/** Every module a script loads that imports 'flowrun', reads the latest successful run and one artifact. */
async function clientModules(cwd: string): Promise<string[]> {
  const out = join(tempDir('flowrun-modules-'), 'modules.txt');
  await runLatest(cwd, [], { NODE_OPTIONS: `--import=${pathToFileURL(join(REPO, 'test', 'helpers', 'module-probe.mjs')).href}`, FLOW_TEST_MODULES_OUT: out });
  return readModules(out);
}

type ScriptKind = 'mjs' | 'cjs';
const LATEST: Record<ScriptKind, string> = {
  mjs: "import { Flow } from 'flowrun';\nconst run = await Flow.get('LinearFlow').latestSuccessfulRun();\nconsole.log(JSON.stringify(await run.artifact('result')));\n",
  cjs: "const { Flow } = require('flowrun');\nFlow.get('LinearFlow').latestSuccessfulRun().then(async (run) => console.log(JSON.stringify(await run.artifact('result'))));\n",
};

/** A script that reads the latest run of the linear flow and one artifact, run with `nodeArgs` and `env`. */
async function runLatest(cwd: string, nodeArgs: string[], env: Record<string, string> = {}, kind: ScriptKind = 'mjs'): Promise<void> {
  writeFileSync(join(cwd, `latest.${kind}`), LATEST[kind]);
  const r = await execa(process.execPath, [...nodeArgs, `latest.${kind}`], { cwd, reject: false, env });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  expect(JSON.parse(String(r.stdout))).toMatchObject({ x: 21, doubled: 42 });
}

describe("CLI start-up: the bundle's compiled code is kept between runs (bin/load-bundle.js)", () => {
  const cacheFiles = (cacheDir: string) => (existsSync(join(cacheDir, 'v8')) ? readdirSync(join(cacheDir, 'v8')) : []);

  it('the first run writes the code cache, later runs use it without rewriting it; a corrupt or foreign cache file is replaced, and output never changes', async () => {
    const cacheDir = tempDir('flowrun-v8-');
    const env = { FLOW_CACHE_DIR: cacheDir };
    const first = await flow(['get', 'run-1', 'result', '--json'], { cwd: dir, env });
    expect(first.exitCode, first.stderr).toBe(0);
    const files = cacheFiles(cacheDir);
    expect(files).toEqual([expect.stringMatching(new RegExp(`^flow-get\\.cjs-[0-9a-f]{8}-[0-9a-f]{32}-get-${process.version}-${process.arch}\\.bin$`))]);
    const cacheFile = join(cacheDir, 'v8', files[0]!);
    const written = statSync(cacheFile);
    expect(written.mode & 0o777).toBe(0o600);

    const second = await flow(['get', 'run-1', 'result', '--json'], { cwd: dir, env });
    expect(second).toEqual(first);
    expect(statSync(cacheFile).mtimeMs).toBe(written.mtimeMs);

    const garbage = Buffer.alloc(4096, 7); // V8 rejects it
    writeFileSync(cacheFile, garbage);
    expect(await flow(['get', 'run-1', 'result', '--json'], { cwd: dir, env })).toEqual(first);
    expect(readFileSync(cacheFile).equals(garbage)).toBe(false);
    expect(statSync(cacheFile).size).toBeGreaterThan(100_000);

    if (process.getuid?.() === 0) {
      // Compiled code runs as the user: a file someone else wrote is not loaded, but replaced.
      chownSync(cacheFile, 4242, 4242);
      expect(await flow(['get', 'run-1', 'result', '--json'], { cwd: dir, env })).toEqual(first);
      expect(statSync(cacheFile).uid).toBe(0);
    }
  });

  it("the runtime build's compiled code is kept too: a task worker writes its cache after its first task (it ends by SIGKILL), a script's import of 'flowrun' at exit, and later runs use them unchanged", async () => {
    const cacheDir = tempDir('flowrun-v8-');
    const env = { FLOW_CACHE_DIR: cacheDir };
    const runtimeCaches = () =>
      cacheFiles(cacheDir)
        .filter((n) => n.startsWith('flowrun.cjs-'))
        .map((n) => ({ variant: n.split('-').at(-3), mtime: statSync(join(cacheDir, 'v8', n)).mtimeMs }))
        .sort((a, b) => a.variant!.localeCompare(b.variant!));
    const first = await flow(['run', file, '-q'], { cwd: dir, env });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(runtimeCaches().map((c) => c.variant)).toEqual(['worker']);
    await runLatest(dir, [], env);
    const written = runtimeCaches();
    expect(written.map((c) => c.variant)).toEqual(['import', 'worker']);
    const again = await flow(['run', file, '-q'], { cwd: dir, env });
    expect(again.exitCode, again.stderr).toBe(0);
    await runLatest(dir, [], env);
    expect(runtimeCaches()).toEqual(written);
  });

  it('each command keeps its own compiled code: a command run after another writes its own cache, which later runs of it use; other words share one', async () => {
    const cacheDir = tempDir('flowrun-v8-');
    const env = { FLOW_CACHE_DIR: cacheDir };
    const variant = (name: string) => name.split('-').at(-3);
    expect((await flow(['--version'], { cwd: dir, env })).exitCode).toBe(0);
    expect(cacheFiles(cacheDir).map(variant)).toEqual(['main']);
    const get = await flow(['get', 'run-1', 'result', '--json'], { cwd: dir, env });
    expect(get.exitCode, get.stderr).toBe(0);
    expect(cacheFiles(cacheDir).map(variant).sort()).toEqual(['get', 'main']);
    const getCache = join(cacheDir, 'v8', cacheFiles(cacheDir).find((n) => variant(n) === 'get')!);
    const written = statSync(getCache).mtimeMs;
    expect(await flow(['get', 'run-1', 'result', '--json'], { cwd: dir, env })).toEqual(get);
    expect(statSync(getCache).mtimeMs).toBe(written);
    // Not command names: the cache of everything else, never a file per word typed.
    expect((await flow(['nosuchcommand'], { cwd: dir, env })).exitCode).not.toBe(0);
    expect((await flow(['../get'], { cwd: dir, env })).exitCode).not.toBe(0);
    expect(cacheFiles(cacheDir).map(variant).sort()).toEqual(['get', 'main']);
  });

  it('a cache made by a run that imported no ES module serves one that does (the graph extractor): no missing import callback, no warning', async () => {
    const cacheDir = tempDir('flowrun-v8-');
    const env = { FLOW_CACHE_DIR: cacheDir };
    // The graph cache is fresh (beforeAll ran the flow): this show imports no ES module.
    expect((await flow(['show', file], { cwd: dir, env })).exitCode).toBe(0);
    expect(cacheFiles(cacheDir)).toHaveLength(1);
    rmSync(join(dir, 'node_modules', '.cache'), { recursive: true, force: true });
    const show = await flow(['show', file], { cwd: dir, env });
    expect(show.exitCode, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^Linear/);
    expect(show.stderr).toBe('');
  });

  it("writing a new build's cache removes the same installation's older ones, not another installation's", async () => {
    const cacheDir = tempDir('flowrun-v8-');
    expect((await flow(['--version'], { cwd: dir, env: { FLOW_CACHE_DIR: cacheDir } })).exitCode).toBe(0);
    const [current] = cacheFiles(cacheDir);
    const [, tag] = current!.split('-');
    const older = `flow.cjs-${tag}-${'0'.repeat(32)}-${process.version}-${process.arch}.bin`;
    const elsewhere = `flow.cjs-${tag === 'ffffffff' ? '00000000' : 'ffffffff'}-${'0'.repeat(32)}-${process.version}-${process.arch}.bin`;
    rmSync(join(cacheDir, 'v8', current!));
    writeFileSync(join(cacheDir, 'v8', older), 'old build');
    writeFileSync(join(cacheDir, 'v8', elsewhere), 'another installation');
    expect((await flow(['--version'], { cwd: dir, env: { FLOW_CACHE_DIR: cacheDir } })).exitCode).toBe(0);
    expect(cacheFiles(cacheDir).sort()).toEqual([current!, elsewhere].sort());
  });

  it("NODE_DISABLE_COMPILE_CACHE=1 (Node's own switch) writes none", async () => {
    const cacheDir = tempDir('flowrun-v8-');
    const r = await flow(['--version'], { cwd: dir, env: { FLOW_CACHE_DIR: cacheDir, NODE_DISABLE_COMPILE_CACHE: '1' } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(cacheFiles(cacheDir)).toEqual([]);
  });
});
