import { defineConfig } from 'vitest/config';

// vite 7 transforms TypeScript with esbuild; target node20 makes it lower TC39 decorators,
// which Node 20 cannot parse (../shared/ECOSYSTEM.md §1).
export default defineConfig({
  esbuild: { target: 'node20' },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
