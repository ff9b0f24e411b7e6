import { writeSync } from 'node:fs';

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
 * Writes text to standard output. A reader that went away (EPIPE) is not an error (`flow runs |
 * head`); any other write error is thrown (a full disk must not look like a complete listing).
 */
export function writeStdout(text: string): void {
  if (readerGone) return;
  if (streamMade || process.platform !== 'linux') return writeToStream(text);
  // Not written yet: the piece from `at` (or, once it is written in part, its `unwritten` bytes), then the rest of the text.
  let at = 0;
  let unwritten: Uint8Array | undefined;
  try {
    while (at < text.length) {
      const piece = text.slice(at, pieceEnd(text, at));
      unwritten = undefined;
      const written = writeSync(1, piece);
      if (written < Buffer.byteLength(piece)) {
        unwritten = Buffer.from(piece).subarray(written);
        while (unwritten.length) unwritten = unwritten.subarray(writeSync(1, unwritten));
      }
      at += piece.length;
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') {
      readerGone = true;
      return;
    }
    // A non-blocking pipe that is full (set so by another process sharing it): the stream waits for it.
    if (code !== 'EAGAIN') throw e;
    if (unwritten) {
      writeToStream(unwritten);
      at += pieceEnd(text, at) - at;
    }
    writeToStream(text.slice(at));
  }
}

/**
 * Output is written in pieces of 64 Ki UTF-16 code units: encoding a whole 1.7 MB listing at once
 * allocates (and faults in) fresh memory for all of it, about twice the cost of reusing a piece's.
 * A surrogate pair is never split (each piece is encoded on its own).
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
