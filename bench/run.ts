import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, machine, type Section } from './util.js';
import { foundation } from './suites/foundation.js';
import { runtime } from './suites/runtime.js';
import { git } from './suites/git.js';
import { codePackage } from './suites/code-package.js';
import { repro } from './suites/repro.js';

/** `npm run bench [-- suite...]`: runs the suites and writes BENCHMARKS.md. */
const SUITES: Record<string, () => Promise<Section[]>> = { foundation, runtime, git, codePackage, repro };

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const sections: Section[] = [];
for (const [name, suite] of Object.entries(SUITES)) {
  if (wanted.length && !wanted.includes(name)) continue;
  process.stderr.write(`bench: ${name}...\n`);
  sections.push(...(await suite()));
}

const out = [
  '# Benchmarks',
  '',
  `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}.`,
  `Machine: ${machine()}.`,
  '',
];
for (const s of sections) {
  out.push(`## ${s.title}`, '', `Measured: ${s.command}.`, '', '| measure | value | note |', '|---|---|---|');
  for (const r of s.rows) out.push(`| ${r.name} | ${r.value} | ${r.note ?? ''} |`);
  if (s.text) out.push('', s.text);
  out.push('');
}
writeFileSync(join(REPO, 'BENCHMARKS.md'), out.join('\n'));
process.stdout.write(out.join('\n'));
