/**
 * Tar archives written byte by byte, as an attacker would: nothing checked, sizes that lie,
 * PAX and GNU long-name headers, device entries.
 */
export interface RawEntry {
  path: string;
  /** Tar type flag: '0' file, '1' hard link, '2' symlink, '3' char dev, '4' block dev, '5' dir, '6' fifo, 'x' PAX, 'L' GNU long name. */
  type?: string;
  body?: Buffer | string;
  /** The size written in the header (default: the body's length). */
  declaredSize?: number;
  linkpath?: string;
  mode?: number;
}

function field(buf: Buffer, offset: number, length: number, value: string): void {
  buf.write(value.slice(0, length), offset, length, 'utf8');
}

function octal(n: number, length: number): string {
  return `${n.toString(8).padStart(length - 1, '0')}\0`;
}

export function header(e: RawEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  field(h, 0, 100, e.path);
  field(h, 100, 8, octal(e.mode ?? 0o644, 8));
  field(h, 108, 8, octal(0, 8));
  field(h, 116, 8, octal(0, 8));
  // Sizes over 8 GiB do not fit in 11 octal digits: use the base-256 form, as GNU tar does.
  if (size >= 8 ** 11) {
    h[124] = 0x80;
    let n = BigInt(size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(n & 0xffn);
      n >>= 8n;
    }
  } else field(h, 124, 12, octal(size, 12));
  field(h, 136, 12, octal(0, 12));
  field(h, 148, 8, '        ');
  field(h, 156, 1, e.type ?? '0');
  field(h, 157, 100, e.linkpath ?? '');
  field(h, 257, 6, 'ustar\0');
  field(h, 263, 2, '00');
  let sum = 0;
  for (const b of h) sum += b;
  field(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

export function rawTar(entries: RawEntry[], opts: { end?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    blocks.push(header(e, e.declaredSize ?? body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  if (opts.end !== false) blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** A PAX extended header record: "<len> key=value\n" where len counts the whole record. */
export function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  let len = rest.length;
  while (`${len}${rest}`.length !== len) len = `${len}${rest}`.length;
  return `${len}${rest}`;
}
