// npm run robustness [-- --long]: runs test/robustness with its figures printed.
import { spawnSync } from 'node:child_process';

const long = process.argv.includes('--long');
const r = spawnSync('npx', ['vitest', 'run', 'test/robustness', '--reporter=verbose'], {
  stdio: 'inherit',
  env: { ...process.env, ...(long ? { FLOW_ROBUSTNESS_LONG: '1' } : {}) },
});
process.exit(r.status ?? 1);
