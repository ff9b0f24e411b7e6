import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(REPO, 'bin', 'run.js');

export interface Row {
  name: string;
  value: string;
  note?: string;
}
export interface Section {
  title: string;
  command: string;
  rows: Row[];
  text?: string;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function ms(x: number): string {
  return `${x.toFixed(x < 10 ? 2 : 0)} ms`;
}

/** Wall time of a whole process, median of `n` runs after one warm-up; also min and max. */
export function timeProcess(cmd: string, args: string[], cwd: string, n = 7, env: NodeJS.ProcessEnv = process.env): { median: number; min: number; max: number } {
  spawnSync(cmd, args, { cwd, env, stdio: 'ignore' });
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { cwd, env, stdio: 'ignore' });
    times.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  }
  return { median: median(times), min: Math.min(...times), max: Math.max(...times) };
}

/** A scratch project with flowrun linked in, like a user's. */
export function benchProject(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'flowrun-bench-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bench', private: true, type: 'module' }));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(REPO, join(dir, 'node_modules', 'flowrun'), 'dir');
  for (const [p, t] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), t);
  }
  return dir;
}

export function machine(): string {
  const git = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO }).toString().trim();
    } catch {
      return 'unknown';
    }
  })();
  return `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}, commit ${git}`;
}

/** A linear flow of `n` steps as source text. */
export function linearFlowSource(n: number, name = 'Linear'): string {
  const steps = [`  @step start() { this.v = 0; this.next(this.s1); }`];
  for (let i = 1; i < n - 1; i++) steps.push(`  /** step ${i} */\n  @step s${i}() { this.v = this.v + 1; this.next(this.${i === n - 2 ? 'end' : `s${i + 1}`}); }`);
  steps.push('  @step end() {}');
  return `import { FlowSpec, step, param } from 'flowrun';\nexport default class ${name} extends FlowSpec {\n  @param({ help: 'a' }) alpha = 0.1;\n  v!: number;\n${steps.join('\n')}\n}\n`;
}

/** A foreach flow: start fans out over n items, `work` computes x from the item, a join sums it. */
export function foreachFlowSource(n: number, work: string): string {
  return `import { FlowSpec, step, param, type Inputs } from 'flowrun';
export default class Fe extends FlowSpec {
  @param({ help: 'splits' }) n = ${n};
  items!: number[];
  x!: number;
  total!: number;
  @step start() { this.items = Array.from({ length: this.n }, (_, i) => i); this.next(this.work, { foreach: 'items' }); }
  @step work() { this.x = ${work}; this.next(this.join); }
  @step join(inputs: Inputs<Fe>) { this.total = inputs.reduce((a, i) => a + i.x, 0); this.next(this.end); }
  @step end() {}
}
`;
}
