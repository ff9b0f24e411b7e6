// Bundles flow ui's front end (src/ui/web) with esbuild into dist/ui: the files the package
// ships and the server serves. No CDN: every script, style and font the pages use is here.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const web = join(root, 'src', 'ui', 'web');
const out = join(root, 'dist', 'ui');
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [join(web, 'main.tsx')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  sourcemap: false,
  legalComments: 'eof',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  logLevel: 'warning',
});
copyFileSync(join(web, 'app.css'), join(out, 'app.css'));
copyFileSync(join(web, 'favicon.svg'), join(out, 'favicon.svg'));
