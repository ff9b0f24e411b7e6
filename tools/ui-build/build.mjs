// Bundles flow ui's front end (src/ui/web) with esbuild into dist/ui, and the card renderer's
// libraries into dist/vendor: files the package ships. No CDN: every script, style and font the
// pages use is here.
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

// The card renderer's libraries, for Node (flow ui / flow card only, never a task worker):
// one file each, so the package carries ~1 MB instead of their 80-package dependency trees.
for (const [name, entry] of [
  ['vega', 'vendor-vega.mjs'],
  ['markdown-it', 'vendor-markdown.mjs'],
]) {
  await build({
    entryPoints: [join(root, 'tools', 'ui-build', entry)],
    outfile: join(root, 'dist', 'vendor', `${name}.mjs`),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    legalComments: 'eof',
    // vega's optional canvas renderer: SVG needs none (text is measured by estimate).
    external: ['canvas'],
    // Bundled CommonJS needs require() in an ES module.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'warning',
  });
}
copyFileSync(join(web, 'favicon.svg'), join(out, 'favicon.svg'));
