import { writeSync } from 'node:fs';
import { type ChunkedBytes, isChunkedBytes } from '../util/chunked.js';

/**
 * The CLI's standard output, written to file descriptor 1 directly while nothing has made Node's
 * process.stdout stream: making it loads Node's stream modules (and, for a pipe, its socket
 * machinery), about 5 ms of every command's start-up (issue #18). On Linux every kind of stdout
 * (file, pipe, terminal) is written synchronously by Node too, so output keeps its order either way.
 * Elsewhere, or once the stream exists, output goes through the stream.
 *
 * The stream is made the first time process.stdout is read (by anyone): `onStdoutStream` runs a
 * function on it then (oclif's EPIPE handler).
 */

let streamMade = false;
const madeListeners: Array<(stream: NodeJS.WriteStream) => void> = [];
/** Set when the reader went away (EPIPE): the rest of the output is dropped, as oclif's stdout does. */
let readerGone = false;

watchStdoutGetter();

/** Whether process.stdout has been made (reading process.stdout makes it). */
export function stdoutStreamMade(): boolean {
  return streamMade;
}

/** Runs `fn` on process.stdout when it is made (now, if it exists). */
export function onStdoutStream(fn: (stream: NodeJS.WriteStream) => void): void {
  if (streamMade) fn(process.stdout);
  else madeListeners.push(fn);
}

/**
 * Writes text, or bytes (a slice of the run index's file, say: written as they are, never decoded
 * and encoded again), to standard output. A reader that went away (EPIPE) is not an error (`flow
 * runs | head`); any other write error is thrown (a full disk must not look like a complete listing).
 */
export function writeStdout(data: string | Uint8Array | ChunkedBytes): void {
  if (readerGone) return;
  if (streamMade || process.platform !== 'linux') return writeToStream(isChunkedBytes(data) ? data.bytesFrom(0) : data);
  try {
    if (typeof data === 'string') writeTextToFd(data);
    else if (isChunkedBytes(data)) writeChunksToFd(data);
    else writeBytesToFd(data);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') {
      readerGone = true;
      return;
    }
    // A non-blocking pipe that is full (set so by another process sharing it): the stream waits for what is left.
    if (code !== 'EAGAIN' || !(e instanceof Unwritten)) throw e;
    writeToStream(e.rest);
  }
}

/** A write that failed with EAGAIN, and what of the output it had not written yet. */
class Unwritten extends Error {
  constructor(
    readonly code: string,
    readonly rest: string | Uint8Array,
  ) {
    super(code);
  }
}

function writeTextToFd(text: string): void {
  let at = 0;
  while (at < text.length) {
    const end = pieceEnd(text, at);
    const piece = Buffer.from(text.slice(at, end));
    try {
      writeBytesToFd(piece);
    } catch (e) {
      if (!(e instanceof Unwritten)) throw e;
      // The piece's unwritten bytes, then the rest of the text.
      writeToStream(e.rest);
      throw new Unwritten(e.code, text.slice(end));
    }
    at = end;
  }
}

/** Writes bytes read when written (a slice of a file) chunk by chunk: their memory is one chunk's. */
function writeChunksToFd(data: ChunkedBytes): void {
  let written = 0;
  data.eachChunk((chunk) => {
    try {
      writeBytesToFd(chunk);
    } catch (e) {
      if (!(e instanceof Unwritten)) throw e;
      // What is left: the chunk's unwritten bytes and the rest, read again (the chunk's buffer is reused).
      throw new Unwritten(e.code, data.bytesFrom(written + chunk.byteLength - e.rest.length));
    }
    written += chunk.byteLength;
  });
}

/** Writes bytes to fd 1 in pieces of 64 KiB, each until all of it is written. */
function writeBytesToFd(bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) {
    try {
      at += writeSync(1, bytes, at, Math.min(PIECE, bytes.length - at));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') throw new Unwritten(code, bytes.subarray(at));
      throw e;
    }
  }
}

/**
 * Text is written in pieces of 64 Ki UTF-16 code units: encoding a whole 1.7 MB listing at once
 * allocates (and faults in) fresh memory for all of it, about twice the cost of reusing a piece's.
 * A surrogate pair is never split (each piece is encoded on its own). Bytes: pieces of 64 KiB.
 */
const PIECE = 1 << 16;

function pieceEnd(text: string, at: number): number {
  const end = Math.min(at + PIECE, text.length);
  const last = text.charCodeAt(end - 1);
  return end < text.length && last >= 0xd800 && last <= 0xdbff ? end - 1 : end;
}

const ignore = (): void => {};

function writeToStream(data: string | Uint8Array): void {
  const stream = process.stdout;
  // As console.log does: an error of this write is not an exception (oclif's handler drops EPIPE).
  stream.once('error', ignore);
  try {
    stream.write(data);
  } finally {
    stream.removeListener('error', ignore);
  }
}

/**
 * Node defines process.stdout as a getter that makes the stream on first read: this wraps it to
 * note that moment. A process.stdout that is not such a getter (replaced by a test harness) counts
 * as made.
 */
function watchStdoutGetter(): void {
  const own = Object.getOwnPropertyDescriptor(process, 'stdout');
  if (!own?.get || !own.configurable) {
    streamMade = true;
    return;
  }
  const get = own.get;
  Object.defineProperty(process, 'stdout', {
    configurable: true,
    enumerable: own.enumerable,
    get() {
      Object.defineProperty(process, 'stdout', own);
      const stream = get.call(process) as NodeJS.WriteStream;
      streamMade = true;
      for (const fn of madeListeners.splice(0)) fn(stream);
      return stream;
    },
  });
}
