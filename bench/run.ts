import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, machine, type Section } from './util.js';
import { foundation } from './suites/foundation.js';
import { runtime } from './suites/runtime.js';
import { git } from './suites/git.js';
import { codePackage } from './suites/code-package.js';
import { repro } from './suites/repro.js';
import { mirror, mirrorTrust } from './suites/mirror.js';
import { environments } from './suites/environments.js';
import { batch } from './suites/batch.js';
import { cli } from './suites/cli.js';
import { ui } from './suites/ui.js';
import { durability } from './suites/durability.js';
import { cache } from './suites/cache.js';

/** `npm run bench [-- suite...]`: runs the suites and writes BENCHMARKS.md. */
const SUITES: Record<string, () => Promise<Section[]>> = { foundation, runtime, git, codePackage, repro, mirror, mirrorTrust, environments, batch, ui, durability, cli, cache };

// As bin/run.js: the pinned AWS SDK's Node-22 notice is noise in the benchmark output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const sections: Section[] = [];
for (const [name, suite] of Object.entries(SUITES)) {
  if (wanted.length && !wanted.includes(name)) continue;
  process.stderr.write(`bench: ${name}...\n`);
  sections.push(...(await suite()));
}

const out = ['# Benchmarks', '', `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}.`, `Machine: ${machine()}.`, ''];
const rendered = new Map<string, string[]>();
for (const s of sections) {
  const lines = [`## ${s.title}`, '', `Measured: ${s.command}.`, '', '| measure | value | note |', '|---|---|---|'];
  for (const r of s.rows) lines.push(`| ${r.name} | ${r.value} | ${r.note ?? ''} |`);
  if (s.text) lines.push('', s.text);
  lines.push('');
  rendered.set(s.title, lines);
}
// Running some suites keeps the other sections of the file (with their own dates in git history).
const file = join(REPO, 'BENCHMARKS.md');
const previous = existsSync(file)
  ? readFileSync(file, 'utf8')
      .split(/^(?=## )/m)
      .slice(1)
  : [];
for (const chunk of previous) {
  const title = chunk.slice(3, chunk.indexOf('\n'));
  if (!rendered.has(title)) rendered.set(title, [chunk.trimEnd(), '']);
}
for (const lines of rendered.values()) out.push(...lines);
writeFileSync(file, out.join('\n'));
process.stdout.write(out.join('\n'));
