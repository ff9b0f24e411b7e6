import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { REPO, tempDir } from '../helpers/cli.js';

describe('loadConfig', () => {
  it('accepts .flowrc.example as shipped', () => {
    const dir = tempDir();
    copyFileSync(join(REPO, '.flowrc.example'), join(dir, '.flowrc'));
    const c = loadConfig(dir, {});
    expect(c.store).toBe(join(dir, '.flow'));
    expect(c.maxWorkers).toBe(4);
    expect(c.mirror).toMatchObject({ url: 's3://my-bucket/flowrun', endpoint: null, autoPush: true });
    expect(c.batch).toMatchObject({ queue: 'flow-queue', image: 'node:20' });
  });

  it('is found by walking up from the flow directory, and env overrides it', () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.flowrc'), JSON.stringify({ store: 'runs', maxWorkers: 3, mirror: { url: 's3://a/b' } }));
    mkdirSync(join(dir, 'flows', 'deep'), { recursive: true });
    const c = loadConfig(join(dir, 'flows', 'deep'), { FLOW_MAX_WORKERS: '7', FLOW_S3_ENDPOINT: 'http://127.0.0.1:9000', FLOW_MIRROR_AUTO_PUSH: 'false' });
    expect(c.projectRoot).toBe(dir);
    expect(c.store).toBe(join(dir, 'runs'));
    expect(c.maxWorkers).toBe(7);
    expect(c.mirror).toEqual({ url: 's3://a/b', endpoint: 'http://127.0.0.1:9000', autoPush: false });
  });

  it('defaults the store to .flow at the package root and keeps s3:// stores as URLs', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'package.json'), '{}');
    mkdirSync(join(dir, 'flows'));
    expect(loadConfig(join(dir, 'flows'), {}).store).toBe(join(dir, '.flow'));
    expect(loadConfig(join(dir, 'flows'), { FLOW_STORE: 's3://bucket/prefix' }).store).toBe('s3://bucket/prefix');
  });

  it('names the key path of an unknown nested key', () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.flowrc'), JSON.stringify({ batch: { queu: 'q' } }));
    expect(() => loadConfig(dir, {})).toThrow(/unknown key 'batch\.queu'/);
  });
});
