import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers/cli.js';

// Proves the package as published works: the explicit oclif wiring of the top-level
// commands/ folder, the `flow` bin, the `files` list and `import ... from 'flowrun'`.
let tarball = '';

beforeAll(async () => {
  const dest = tempDir('flowrun-pack-');
  // `npm test` has already built dist/; --ignore-scripts skips the prepack rebuild.
  await execa('npm', ['pack', '--ignore-scripts', '--pack-destination', dest], { cwd: REPO });
  tarball = join(dest, readdirSync(dest).find((f) => f.endsWith('.tgz'))!);
}, 120_000);

async function npmInstall(cwd: string, spec?: string): Promise<void> {
  await execa('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...(spec ? [spec] : [])], { cwd });
}

const npx = (cwd: string, args: string[]) => execa('npx', ['--no-install', 'flow', ...args], { cwd, reject: false, env: { NO_COLOR: '1' } });

describe('packed install', () => {
  it("ships what the CLI needs and nothing else: no source maps, tests or tools; the card renderer's bundles; a license", async () => {
    const files = (await execa('tar', ['tzf', tarball])).stdout.split('\n').map((f) => f.replace(/^package\//, ''));
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'bin/run.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/vendor/vega.mjs', 'dist/vendor/markdown-it.mjs', 'dist/ui/app.js', 'templates/project/tsconfig.json']));
    expect(files.filter((f) => f.endsWith('.map') || /^(src|test|bench|tools|dist\/(bench|tools))\//.test(f) || /^dist\/commands\/.*\.d\.ts$/.test(f))).toEqual([]);
    const pkg = JSON.parse((await execa('tar', ['xzfO', tarball, 'package/package.json'])).stdout) as { bin: Record<string, string>; license: string; engines: Record<string, string> };
    expect(pkg.bin).toEqual({ flow: 'bin/run.js' }); // as npm publish would normalize it: no warning, no rewrite
    expect(pkg).toMatchObject({ license: 'Apache-2.0', engines: { node: '>=20' } });
  });

  it('installs from the tarball and runs flow --help, show and check on a flow importing flowrun', async () => {
    const project = tempDir('flowrun-smoke-');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'smoke', private: true, type: 'module' }));
    await execa('git', ['init', '-q'], { cwd: project });
    mkdirSync(join(project, 'flows'));
    writeFileSync(join(project, 'flows', 'helper.ts'), 'export const double = (x: number): number => 2 * x;\n');
    writeFileSync(
      join(project, 'flows', 'smoke.ts'),
      ["import { FlowSpec, step, param } from 'flowrun';", "import { double } from './helper.js';", 'export default class SmokeFlow extends FlowSpec {', '  @param({ help: "a number" }) n = 2;', '  out!: number;', '  @step start() { this.out = double(this.n); this.next(this.end); }', '  @step end() {}', '}'].join('\n'),
    );
    await npmInstall(project, tarball);

    const help = await npx(project, ['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/show/);
    expect(help.stdout).toMatch(/check/);
    expect(help.stdout).toMatch(/init/);

    const show = await npx(project, ['show', 'flows/smoke.ts', '--json']);
    expect(show.exitCode, show.stderr).toBe(0);
    const view = JSON.parse(String(show.stdout)) as { flow: string; steps: Array<{ name: string }>; params: Array<{ name: string; default: unknown }> };
    expect(view.flow).toBe('SmokeFlow');
    expect(view.steps.map((s) => s.name)).toEqual(['start', 'end']);
    expect(view.params).toMatchObject([{ name: 'n', default: 2 }]);

    const check = await npx(project, ['check', 'flows/smoke.ts']);
    expect(check.exitCode, String(check.stderr)).toBe(0);

    const version = await npx(project, ['--version']);
    expect(version.stdout).toMatch(/^flowrun\/\d+\.\d+\.\d+/);
  });

  it('flow init scaffolds a project that installs (flowrun from the tarball it came from) and type-checks', async () => {
    const base = tempDir('flowrun-init-');
    const bootstrap = join(base, 'bootstrap');
    mkdirSync(bootstrap);
    writeFileSync(join(bootstrap, 'package.json'), JSON.stringify({ name: 'bootstrap', private: true }));
    await npmInstall(bootstrap, tarball);
    const init = await npx(bootstrap, ['init', join(base, 'demo')]);
    expect(init.exitCode, String(init.stderr)).toBe(0);
    const demo = join(base, 'demo');
    expect(readdirSync(demo).sort()).toEqual(['.git', '.gitignore', 'README.md', 'flows', 'package.json', 'tsconfig.json']);
    // Not on the registry yet: the scaffold depends on the tarball flowrun was installed from.
    const deps = (JSON.parse(readFileSync(join(demo, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
    expect(deps.flowrun).toMatch(/^file:\.\.\/.*flowrun-\d+\.\d+\.\d+\.tgz$/);
    await npmInstall(demo);
    const tsc = await execa('npx', ['--no-install', 'tsc', '-p', '.'], { cwd: demo, reject: false });
    expect(tsc.exitCode, String(tsc.stdout)).toBe(0);
    const show = await npx(demo, ['show', 'flows/train.ts']);
    expect(show.exitCode, String(show.stderr)).toBe(0);
    expect(show.stdout).toMatch(/TrainFlow/);
    expect(show.stdout).toMatch(/split\s+foreach\s+→ fit \(foreach splits\)/);
    const check = await npx(demo, ['check', 'flows/hello.ts']);
    expect(check.exitCode, String(check.stderr)).toBe(0);
  }, 300_000); // two npm installs (the second fetches typescript and @types/node) and tsc
});
