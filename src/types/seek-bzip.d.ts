/** seek-bzip 2 ships no types: the one function flowrun uses. */
declare module 'seek-bzip' {
  /** Output: a buffer to fill, or any object taking one byte at a time. */
  type Output = Buffer | { writeByte(byte: number): void };
  const bunzip: { decode(input: Buffer, output?: Output, multistream?: boolean): Buffer };
  export default bunzip;
}
