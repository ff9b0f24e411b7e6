import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { REPO, flow, tempDir } from '../helpers/cli.js';

// Issue #17 item 8: flow init in an existing project (nothing overwritten, git init, a tsconfig
// that type-checks the templates with the dev dependencies it adds).

/** Gives a scaffolded project what `npm install` would: flowrun (this checkout), typescript, @types/node. */
function linkDependencies(dir: string): void {
  mkdirSync(join(dir, 'node_modules/@types'), { recursive: true });
  symlinkSync(REPO, join(dir, 'node_modules/flowrun'), 'dir');
  symlinkSync(join(REPO, 'node_modules/typescript'), join(dir, 'node_modules/typescript'), 'dir');
  symlinkSync(join(REPO, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'), 'dir');
}

const tsc = (dir: string, project: string) => execa(process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: dir, reject: false });

describe('flow init (#17 item 8)', () => {
  it('adds to an existing project without overwriting anything, runs git init, and its tsconfig type-checks the flows', async () => {
    const dir = tempDir();
    const own = '{\n    "name": "legacy",\n    "version": "1.0.0",\n    "scripts": { "train": "python train.py" },\n    "dependencies": { "lodash": "^4.17.21" }\n}\n';
    writeFileSync(join(dir, 'package.json'), own);
    mkdirSync(join(dir, 'flows'));
    writeFileSync(join(dir, 'flows/hello.ts'), '// my own hello\nexport const hello = 1;\n');
    writeFileSync(join(dir, '.gitignore'), 'dist\n.flow');
    const r = await flow(['init', '--json'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { created: string[]; updated: string[]; kept: string[]; git: string; flowrun: string };
    expect(out).toMatchObject({ created: ['README.md', 'flows/train.ts', 'tsconfig.json'], updated: ['.gitignore', 'package.json'], git: 'initialized' });
    expect(out.kept).toEqual(['flows/hello.ts', 'package.json scripts.train']);
    expect(out.flowrun).toBe(`file:${relative(dir, REPO)}`);
    expect(readFileSync(join(dir, 'flows/hello.ts'), 'utf8')).toBe('// my own hello\nexport const hello = 1;\n');
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('dist\n.flow\nnode_modules/\n');
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    expect(pkg).toMatchObject({ name: 'legacy', version: '1.0.0' });
    expect(pkg.scripts).toEqual({ train: 'python train.py', show: 'flow show flows/train.ts', typecheck: 'tsc -p .' });
    expect(pkg.dependencies).toEqual({ lodash: '^4.17.21', flowrun: out.flowrun });
    expect(Object.keys(pkg.devDependencies!).sort()).toEqual(['@types/node', 'typescript']);
    expect(readFileSync(join(dir, 'package.json'), 'utf8')).toMatch(/^\{\n {4}"name"/); // its indentation kept
    expect(existsSync(join(dir, '.git'))).toBe(true);

    linkDependencies(dir);
    const check = await tsc(dir, '.');
    expect(check.exitCode, check.stdout).toBe(0);
    const run = await flow(['run', 'flows/train.ts', '-q'], { cwd: dir });
    expect(run.exitCode, run.stderr).toBe(0);

    const again = await flow(['init', '--json'], { cwd: dir });
    expect(JSON.parse(again.stdout)).toMatchObject({ created: [], updated: [], git: 'existing' });
  });

  it('scaffolds a new folder whose tsconfig type-checks both templates; a project with its own tsconfig gets flows/tsconfig.json', async () => {
    const base = tempDir();
    const r = await flow(['init', 'demo'], { cwd: base });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/git init\s+a new repository/);
    expect(r.stdout).toMatch(/npm install \(flowrun from file:.*: it is not on the npm registry yet\)/);
    const demo = join(base, 'demo');
    linkDependencies(demo);
    const check = await tsc(demo, '.');
    expect(check.exitCode, check.stdout).toBe(0);

    const mine = join(base, 'mine');
    mkdirSync(mine);
    writeFileSync(join(mine, 'tsconfig.json'), JSON.stringify({ compilerOptions: { experimentalDecorators: true, module: 'commonjs' } }));
    const own = await flow(['init', '--json'], { cwd: mine });
    const out = JSON.parse(own.stdout) as { created: string[]; kept: string[] };
    expect(out.created).toContain('flows/tsconfig.json');
    expect(out.kept).toContain('tsconfig.json');
    expect(JSON.parse(readFileSync(join(mine, 'package.json'), 'utf8')).scripts.typecheck).toBe('tsc -p flows');
    linkDependencies(mine);
    const flows = await tsc(mine, 'flows');
    expect(flows.exitCode, flows.stdout).toBe(0);
  });
});
