/**
 * The little of POSIX tar (ustar, with pax headers for long paths and large sizes) that a
 * backup needs: regular files, written in a chosen order and read back as a pull stream, so
 * a reader knows exactly where an archive was cut short. Any tar tool lists and extracts it.
 */

const BLOCK = 512;
const ZEROS = Buffer.alloc(BLOCK * 2);

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number, type: '0' | '5' | 'x', mtimeS: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(type === '5' ? 0o700 : 0o600, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(mtimeS, 12), 136, 'ascii');
  h.write(' '.repeat(8), 148, 'ascii');
  h.write(type, 156, 'ascii');
  h.write('ustar\u000000', 257, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** A pax record: "<length> key=value\n", where length counts the whole record, itself included. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body);
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** The header block(s) of one regular file: a pax header first when the path or size does not fit ustar. */
export function fileHeader(name: string, size: number, mtimeS = Math.floor(Date.now() / 1000)): Buffer {
  return entryHeader(name, size, '0', mtimeS);
}

/** The header of a directory (`name` without its trailing slash). */
export function directoryHeader(name: string, mtimeS = Math.floor(Date.now() / 1000)): Buffer {
  return entryHeader(`${name}/`, 0, '5', mtimeS);
}

function entryHeader(name: string, size: number, type: '0' | '5', mtimeS: number): Buffer {
  const needsPax = Buffer.byteLength(name) > 100 || size > 0o77777777777;
  if (!needsPax) return header(name, size, type, mtimeS);
  const pax = Buffer.from(paxRecord('path', name) + paxRecord('size', String(size)));
  const ustarSize = size > 0o77777777777 ? 0 : size;
  return Buffer.concat([header('PaxHeader', pax.length, 'x', mtimeS), pax, padding(pax.length), header(name.slice(0, 100), ustarSize, type, mtimeS)]);
}

/** Zero bytes up to the next block boundary after `size` bytes of content. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

/** Two zero blocks: the end of the archive. */
export const END_OF_ARCHIVE = ZEROS;

export class TarFormatError extends Error {}
/** The input ended before the archive did. */
export class TarTruncatedError extends Error {}

/** Pulls exact byte counts out of a chunked stream. */
class ByteReader {
  private chunks: Buffer[] = [];
  private held = 0;
  private done = false;
  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Up to `max` bytes (at least one unless the input has ended). */
  async some(max: number): Promise<Buffer> {
    while (this.held === 0 && !this.done) await this.fill();
    if (this.held === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    const out = first.length <= max ? first : first.subarray(0, max);
    if (out === first) this.chunks.shift();
    else this.chunks[0] = first.subarray(max);
    this.held -= out.length;
    return out;
  }

  /** Exactly n bytes, or fewer when the input ends first. */
  async exact(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const b = await this.some(n - got);
      if (b.length === 0) break;
      parts.push(b);
      got += b.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  private async fill(): Promise<void> {
    const r = await this.source.next();
    if (r.done) this.done = true;
    else {
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
      this.chunks.push(b);
      this.held += b.length;
    }
  }
}

export interface TarEntry {
  path: string;
  size: number;
  /** The content, in chunks; read it all (or not at all: next() skips what is left). */
  body: AsyncIterable<Buffer>;
}

function parseOctal(b: Buffer): number {
  const s = b.toString('ascii').replace(/\0.*$/s, '').trim();
  if (!/^[0-7]*$/.test(s)) throw new TarFormatError('not a tar archive (a header field is not octal)');
  return s === '' ? 0 : Number.parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return parseOctal(h.subarray(148, 156)) === sum;
}

/**
 * The regular-file entries of a tar stream, in order. Throws TarFormatError on something
 * that is not tar, and TarTruncatedError when the input ends inside an entry or before the
 * end-of-archive blocks.
 */
export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(source[Symbol.asyncIterator]());
  let pax: Record<string, string> = {};
  for (;;) {
    const h = await reader.exact(BLOCK);
    if (h.length < BLOCK) throw new TarTruncatedError(h.length === 0 ? 'the archive ends without its end marker' : 'the archive ends inside a header');
    if (h.every((b) => b === 0)) return;
    if (h.toString('ascii', 257, 262) !== 'ustar' || !checksumOk(h)) throw new TarFormatError('not a tar archive');
    const type = String.fromCharCode(h[156]!);
    const prefix = h.toString('utf8', 345, 500).replace(/\0.*$/s, '');
    const ustarName = h.toString('utf8', 0, 100).replace(/\0.*$/s, '');
    const name = pax.path ?? (prefix ? `${prefix}/${ustarName}` : ustarName);
    const size = pax.size !== undefined ? Number(pax.size) : parseOctal(h.subarray(124, 136));
    pax = {};
    let left = size;
    const pad = padding(size).length;
    const body = async function* (): AsyncGenerator<Buffer> {
      while (left > 0) {
        const b = await reader.some(Math.min(left, 1 << 20));
        if (b.length === 0) throw new TarTruncatedError(`the archive ends inside ${name} (${size - left} of ${size} bytes)`);
        left -= b.length;
        yield b;
      }
    };
    const skipRest = async () => {
      for await (const _ of body());
      if ((await reader.exact(pad)).length < pad) throw new TarTruncatedError(`the archive ends inside ${name}`);
    };
    if (type === 'x') {
      const chunks: Buffer[] = [];
      for await (const b of body()) chunks.push(b);
      await skipRest();
      for (const m of Buffer.concat(chunks)
        .toString('utf8')
        .matchAll(/\d+ ([^=]+)=([^\n]*)\n/g))
        pax[m[1]!] = m[2]!;
      continue;
    }
    if (type === '0' || type === '\0') yield { path: name, size, body: body() };
    await skipRest();
  }
}
