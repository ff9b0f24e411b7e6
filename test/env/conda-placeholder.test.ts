import { describe, expect, it } from 'vitest';
import { MAX_SHEBANG_LENGTH, paddingFits, replaceBinary, replaceLongShebang, replaceText } from '../../src/env/conda/placeholder.js';
import { entryPointScript, noarchPythonPath, pycPath, pythonInfo } from '../../src/env/conda/python.js';

const PH = `/home/conda/feedstock_root/build_artifacts/x_1/_h_env_${'placehold_'.repeat(20)}`;

describe('conda relocation rules', () => {
  it('text mode replaces every occurrence', () => {
    expect(replaceText(Buffer.from(`a=${PH}\nb=${PH}/lib:${PH}/lib64\n`), PH, '/env').toString()).toBe('a=/env\nb=/env/lib:/env/lib64\n');
  });

  it('binary mode keeps the length: each C string holding the placeholder gets the prefix and NUL padding at its end', () => {
    const data = Buffer.from(`\x7fELF${PH}/lib\0keep\0x:${PH}/a:${PH}/b\0tail`);
    const out = replaceBinary(data, PH, '/env');
    expect(out.length).toBe(data.length);
    const pad = '\0'.repeat(PH.length - 4);
    expect(out.toString('latin1')).toBe(`\x7fELF/env/lib${pad}\0keep\0x:/env/a:/env/b${pad}${pad}\0tail`);
  });

  it('binary mode leaves a placeholder with no NUL after it (not a C string), as conda does', () => {
    const data = Buffer.from(`x${PH}/lib`);
    expect(replaceBinary(data, PH, '/env')).toEqual(data);
  });

  it('a prefix longer than a binary placeholder does not fit', () => {
    expect(paddingFits('/opt/short', '/opt/short')).toBe(true);
    expect(paddingFits('/opt/short', '/opt/shorter')).toBe(false);
    expect(() => replaceBinary(Buffer.from('/opt/short\0'), '/opt/short', '/opt/shorter')).toThrow(RangeError);
  });

  it(`a shebang longer than ${MAX_SHEBANG_LENGTH} bytes becomes #!/usr/bin/env NAME, keeping its options; a short one stays`, () => {
    const long = `/${'p'.repeat(130)}/bin/python3.11`;
    expect(replaceLongShebang(Buffer.from(`#!${long} -u\nprint(1)\n`)).toString()).toBe('#!/usr/bin/env python3.11 -u\nprint(1)\n');
    expect(replaceText(Buffer.from(`#!${PH}/bin/perl -w\nx\n`), PH, `/${'q'.repeat(130)}`).toString()).toBe('#!/usr/bin/env perl -w\nx\n');
    expect(replaceLongShebang(Buffer.from('#!/env/bin/python3.11\nx\n')).toString()).toBe('#!/env/bin/python3.11\nx\n');
    expect(replaceLongShebang(Buffer.from('#!/my\\ env/bin/python3.11\n')).toString()).toBe('#!/usr/bin/env python3.11\n');
  });

  it('entry points: the env python in the shebang, or a /bin/sh trampoline to it when that line would be too long', () => {
    const ep = { name: 'pip', module: 'pip._internal.cli.main', func: 'main' };
    expect(entryPointScript(ep, '/env/bin/python3.11')).toBe(`#!/env/bin/python3.11
# -*- coding: utf-8 -*-
import re
import sys

from pip._internal.cli.main import main

if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
`);
    const long = `/${'p'.repeat(130)}/bin/python3.11`;
    expect(entryPointScript(ep, long).split('\n').slice(0, 2)).toEqual(['#!/bin/sh', `'''exec' "${long}" "$0" "$@" #'''`]);
    expect(entryPointScript({ name: 'x', module: 'm', func: 'Cls.run' }, '/env/bin/python3.11')).toContain('from m import Cls\n');
  });

  it('noarch python: site-packages/ and python-scripts/ are mapped for the env python, .pyc named for its version', () => {
    const py = pythonInfo({ name: 'python', version: '3.11.9', build: 'h_0' });
    expect(py).toEqual({ version: '3.11', sitePackages: 'lib/python3.11/site-packages', executable: 'bin/python3.11' });
    expect(pythonInfo({ name: 'python', version: '3.13.1', build: 'h_0_cp313t', python_site_packages_path: 'lib/python3.13t/site-packages' }).sitePackages).toBe('lib/python3.13t/site-packages');
    expect(noarchPythonPath('site-packages/requests/api.py', py)).toBe('lib/python3.11/site-packages/requests/api.py');
    expect(noarchPythonPath('python-scripts/f2py', py)).toBe('bin/f2py');
    expect(noarchPythonPath('share/doc/x', py)).toBe('share/doc/x');
    expect(pycPath('lib/python3.11/site-packages/requests/api.py', '3.11')).toBe('lib/python3.11/site-packages/requests/__pycache__/api.cpython-311.pyc');
  });
});
