/** The local conda channel (bench/conda-channel.ts, shared with the bench). */
export { type PackageDef, type TestChannel, LIBDEMO, MINIPIP, archive, channelPackages, fileName, machinePython, packageFile, placeholderOf, pythonPackage, rawTar, startChannel } from '../../bench/conda-channel.js';
