/**
 * A command's --json result already printed as text (`JSON.stringify(value, null, 2)` of the
 * value it stands for), in pieces to write one after the other (a 1.7 MB listing is never copied
 * into one string): the command prints them as they are. As a value (a programmatic
 * `Command.run()`, or a logJson that does not know it) it is the parsed value.
 */
export class PrintedJson {
  constructor(readonly pieces: readonly string[]) {}

  toJSON(): unknown {
    return JSON.parse(this.pieces.join(''));
  }
}
