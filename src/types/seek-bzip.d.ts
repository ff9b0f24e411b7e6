/** seek-bzip 2 ships no types: the one function flowrun uses. */
declare module 'seek-bzip' {
  const bunzip: { decode(input: Buffer, output?: Buffer): Buffer };
  export default bunzip;
}
