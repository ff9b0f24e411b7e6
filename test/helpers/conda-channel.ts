/** The local conda channel (bench/conda-channel.ts, shared with the bench). */
export { CHANNEL_PACKAGES, type TestChannel, rawTar, startChannel } from '../../bench/conda-channel.js';
