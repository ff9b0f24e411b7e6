import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAtomicSync, writeAtomicSync } from '../../src/util/atomic-write.js';
import { tempDir } from '../helpers/cli.js';

describe('the one write protocol', () => {
  it('replaces a file whole, with the mode asked, at either durability, leaving no temp file', () => {
    const dir = tempDir();
    const file = join(dir, 'a.json');
    writeFileSync(file, 'old');
    writeAtomicSync(file, '{"new":1}', { durability: 'full', mode: 0o444 });
    expect(readFileSync(file, 'utf8')).toBe('{"new":1}');
    expect(statSync(file).mode & 0o777).toBe(0o444);
    writeAtomicSync(join(dir, 'b'), [Buffer.from('x'), Buffer.from('y')]);
    expect(readFileSync(join(dir, 'b'), 'utf8')).toBe('xy');
    expect(readdirSync(dir).sort()).toEqual(['a.json', 'b']);
  });

  it('creates a file only when it does not exist (a claimed run id is never replaced)', () => {
    const dir = tempDir();
    const file = join(dir, 'run-1.json');
    expect(createAtomicSync(file, 'first', { durability: 'full' })).toBe(true);
    expect(createAtomicSync(file, 'second')).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('first');
    expect(readdirSync(dir)).toEqual(['run-1.json']);
  });

  it('on a failed write keeps the old file and removes its temp file', () => {
    const dir = tempDir();
    const sub = join(dir, 'ro');
    mkdirSync(sub);
    const file = join(sub, 'x');
    writeFileSync(file, 'kept');
    // A target that is a directory: the rename fails after the temp file was written.
    mkdirSync(join(sub, 'd'));
    writeFileSync(join(sub, 'd', 'inside'), '');
    expect(() => writeAtomicSync(join(sub, 'd'), 'new')).toThrow();
    expect(readdirSync(sub).sort()).toEqual(['d', 'x']);
    chmodSync(sub, 0o555);
    try {
      if (process.getuid?.() !== 0) expect(() => writeAtomicSync(file, 'new')).toThrow(/EACCES/);
      expect(readFileSync(file, 'utf8')).toBe('kept');
    } finally {
      chmodSync(sub, 0o755);
    }
  });
});
