import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { WorkerPool } from '../../src/runtime/pool.js';
import { tempDir } from '../helpers/cli.js';

const processHandles = () => process.getActiveResourcesInfo().filter((r) => r === 'ProcessWrap').length;

describe('WorkerPool.close', () => {
  it('kills its workers and leaves nothing of them keeping the process alive: `flow run` exits without waiting for them to be reaped', async () => {
    const before = processHandles();
    const pool = new WorkerPool({ size: 2, spoolDir: tempDir('flowrun-pool-') });
    pool.prestart(2);
    expect(processHandles()).toBe(before + 2);
    await sleep(50); // started, perhaps not ready: close must not wait for either
    pool.close();
    expect(processHandles()).toBe(before);
  });
});
