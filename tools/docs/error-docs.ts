import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CATALOG, type ErrorCode } from '../../src/errors/catalog.js';
import { ExitCode } from '../../src/errors/exit-codes.js';

const EXIT_MEANING: Record<keyof typeof ExitCode, string> = {
  ok: 'success',
  runFailed: 'the run failed',
  differs: 'the runs differ',
  usage: 'usage or validation error',
  storeIntegrity: 'store integrity problem',
  remote: 'environment or remote service problem',
  interrupted: 'interrupted',
};

/** docs/errors.md, generated from the error catalog (src/errors/catalog.ts). */
export function errorDocs(): string {
  const rows = (Object.keys(ERROR_CATALOG) as ErrorCode[]).sort().map((code) => {
    const [exit, meaning] = ERROR_CATALOG[code];
    return `| \`${code}\` | ${ExitCode[exit]} (${EXIT_MEANING[exit]}) | ${meaning.replace(/\|/g, '\\|')} |`;
  });
  return [
    '# Error codes',
    '',
    'Generated from `src/errors/catalog.ts` by `npm run docs:errors`; do not edit by hand.',
    '',
    'Every error flowrun reports carries one of these codes (in its message, and as `error.code` with',
    '`--json`), names the file, step, artifact or key involved, says how to fix it, and exits with the',
    'exit code shown. Codes are stable: scripts may match on them.',
    '',
    '| code | exit code | meaning |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
  writeFileSync(join(root, 'docs', 'errors.md'), errorDocs());
}
