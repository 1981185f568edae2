import { concatBytes } from './bytes.ts';
import { BackupError } from './errors.ts';

/**
 * A small strict POSIX ustar codec (IEEE 1003.1-2001 `pax` format): what the writer emits, the
 * reader demands, and nothing else. Regular files only; a PAX extended header ('x') carries a
 * path longer than the 100-byte name field, or a size past the 12-byte field's 8 GiB.
 */
export const BLOCK = 512;
const NAME_BYTES = 100;
/** Largest size the 11 octal digits of the size field hold. */
const MAX_USTAR_SIZE = 8 ** 11 - 1;
/** A PAX header of ours holds a path and a size; anything near this is not one of ours. */
const MAX_PAX_BYTES = 64 * 1024;
const KNOWN_PAX_KEYS = new Set(['path', 'size']);

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** The header block(s) of one regular file: a PAX header first when ustar cannot say it. */
export function encodeFileHeader(path: string, size: number, mtimeSeconds: number): Uint8Array {
  const name = utf8.encode(path);
  const records: string[] = [];
  if (name.length > NAME_BYTES || /[^\x20-\x7e]/.test(path)) records.push(paxRecord('path', path));
  if (size > MAX_USTAR_SIZE) records.push(paxRecord('size', String(size)));
  const file = ustarHeader(
    records.length === 0 ? name : asciiFallback(path),
    '0',
    size <= MAX_USTAR_SIZE ? size : 0,
    mtimeSeconds,
  );
  writeChecksum(file);
  if (records.length === 0) return file;
  const pax = utf8.encode(records.join(''));
  const paxHeader = ustarHeader(asciiFallback(`PaxHeader/${path}`), 'x', pax.length, mtimeSeconds);
  writeChecksum(paxHeader);
  const out = new Uint8Array(BLOCK + padded(pax.length) + BLOCK);
  out.set(paxHeader, 0);
  out.set(pax, BLOCK);
  out.set(file, BLOCK + padded(pax.length));
  return out;
}

/** Zeros that end a file's data on a block boundary. */
export const padding = (size: number): Uint8Array => new Uint8Array(padded(size) - size);

/** Two zero blocks: the end-of-archive marker. */
export const endOfArchive = (): Uint8Array => new Uint8Array(2 * BLOCK);

const padded = (size: number): number => Math.ceil(size / BLOCK) * BLOCK;

/** A PAX record: "<length> <key>=<value>\n", where the length counts itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = utf8.encode(body).length;
  let length = bodyBytes + 1;
  while (length !== bodyBytes + String(length).length) length = bodyBytes + String(length).length;
  return `${length}${body}`;
}

/** The name field when a PAX path holds the real one: printable ASCII, cut to fit. */
function asciiFallback(path: string): Uint8Array {
  return utf8.encode(path.replace(/[^\x20-\x7e]/g, '_').slice(-NAME_BYTES));
}

function ustarHeader(name: Uint8Array, type: '0' | 'x', size: number, mtime: number): Uint8Array {
  const block = new Uint8Array(BLOCK);
  block.set(name.subarray(0, NAME_BYTES), 0);
  writeOctal(block, 100, 8, 0o644); // mode
  writeOctal(block, 108, 8, 0); // uid
  writeOctal(block, 116, 8, 0); // gid
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, mtime);
  block[156] = type.charCodeAt(0);
  block.set(utf8.encode('ustar\u000000'), 257);
  return block;
}

/** `width - 1` zero-padded octal digits and a NUL. */
function writeOctal(block: Uint8Array, at: number, width: number, value: number): void {
  block.set(utf8.encode(`${value.toString(8).padStart(width - 1, '0')}\u0000`), at);
}

function writeChecksum(block: Uint8Array): void {
  block.fill(0x20, 148, 156);
  writeOctal(block, 148, 7, checksum(block));
  block[155] = 0x20;
}

function checksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

/** What a reader is told, in archive order. */
export interface TarSink {
  /** A regular file starts; its `size` bytes follow through `data`. */
  file(path: string, size: number): void | Promise<void>;
  data(chunk: Uint8Array): void | Promise<void>;
  /** The file's last byte was passed. */
  fileEnd(): void | Promise<void>;
}

type State =
  | { readonly kind: 'header' }
  | { readonly kind: 'pax'; readonly size: number; readonly bytes: Uint8Array[]; got: number }
  | { readonly kind: 'data'; readonly size: number; left: number }
  | { readonly kind: 'padding'; left: number }
  | { readonly kind: 'zero' }
  | { readonly kind: 'ended' };

/**
 * A push parser: feed the decompressed bytes in any chunking through `write`, then `end()`.
 * Every byte is accounted for: headers by their checksum and fields, data by the sink, padding
 * and the end marker must be zeros, and nothing may follow the marker.
 */
export class TarReader {
  #state: State = { kind: 'header' };
  #block = new Uint8Array(BLOCK);
  #blockFill = 0;
  #pax: Map<string, string> | null = null;
  /** Offset of the next byte in the decompressed stream, for messages. */
  #offset = 0;

  constructor(private readonly sink: TarSink) {}

  async write(chunk: Uint8Array): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      const state = this.#state;
      if (state.kind === 'data') {
        const take = Math.min(state.left, chunk.length - at);
        await this.sink.data(chunk.subarray(at, at + take));
        at += take;
        this.#offset += take;
        state.left -= take;
        if (state.left === 0) {
          await this.sink.fileEnd();
          const left = padded(state.size) - state.size;
          this.#state = left === 0 ? { kind: 'header' } : { kind: 'padding', left };
        }
        continue;
      }
      if (state.kind === 'padding') {
        const take = Math.min(state.left, chunk.length - at);
        for (let i = 0; i < take; i++) {
          if (chunk[at + i] !== 0) this.#fail('TarFormat', 'padding after a file is not zeros', i);
        }
        at += take;
        this.#offset += take;
        state.left -= take;
        if (state.left === 0) this.#state = { kind: 'header' };
        continue;
      }
      if (state.kind === 'ended') {
        throw new BackupError('TrailingData', `bytes follow the tar end marker at offset ${this.#offset}`);
      }
      const take = Math.min(BLOCK - this.#blockFill, chunk.length - at);
      this.#block.set(chunk.subarray(at, at + take), this.#blockFill);
      this.#blockFill += take;
      at += take;
      if (this.#blockFill < BLOCK) continue;
      this.#blockFill = 0;
      await this.#onBlock(this.#block);
      this.#offset += BLOCK;
    }
  }

  /** The input ended: it must have ended exactly after the end marker. */
  end(): void {
    if (this.#state.kind !== 'ended') {
      throw new BackupError(
        'Truncated',
        `the tar stream ends at offset ${this.#offset + this.#blockFill}, before its end marker`,
      );
    }
  }

  async #onBlock(block: Uint8Array): Promise<void> {
    const state = this.#state;
    if (state.kind === 'zero') {
      if (block.some((b) => b !== 0))
        this.#fail('TarFormat', 'the end marker is followed by a non-zero block', 0);
      this.#state = { kind: 'ended' };
      return;
    }
    if (state.kind === 'pax') {
      const take = Math.min(BLOCK, state.size - state.got);
      state.bytes.push(block.slice(0, take));
      if (block.subarray(take).some((b) => b !== 0))
        this.#fail('TarFormat', 'PAX header padding is not zeros', take);
      state.got += take;
      if (state.got === state.size) {
        this.#pax = this.#parsePax(concatBytes(state.bytes));
        this.#state = { kind: 'header' };
      }
      return;
    }
    if (block.every((b) => b === 0)) {
      if (this.#pax !== null) this.#fail('TarFormat', 'a PAX header is followed by the end marker', 0);
      this.#state = { kind: 'zero' };
      return;
    }
    const stored = this.#octal(block, 148, 8, 'checksum');
    if (stored !== checksum(block)) this.#fail('TarFormat', 'header checksum mismatch', 148);
    if (ascii(block, 257, 8) !== 'ustar\u000000') this.#fail('TarFormat', 'not a POSIX ustar header', 257);
    const type = String.fromCharCode(block[156]!);
    const name = this.#name(block);
    if (type === 'x') {
      if (this.#pax !== null) this.#fail('TarFormat', 'two PAX headers in a row', 156);
      const size = this.#octal(block, 124, 12, 'size');
      if (size === 0 || size > MAX_PAX_BYTES) this.#fail('TarFormat', `PAX header of ${size} bytes`, 124);
      this.#state = { kind: 'pax', size, bytes: [], got: 0 };
      return;
    }
    if (type !== '0' && type !== '\u0000') {
      const what =
        {
          '1': 'a hard link',
          '2': 'a symbolic link',
          '3': 'a character device',
          '4': 'a block device',
          '5': 'a directory',
          '6': 'a FIFO',
        }[type] ?? `of type ${JSON.stringify(type)}`;
      throw new BackupError('UnsafeEntry', `entry ${JSON.stringify(name)} is ${what}, not a regular file`);
    }
    const pax = this.#pax;
    this.#pax = null;
    const path = pax?.get('path') ?? name;
    const headerSize = this.#octal(block, 124, 12, 'size');
    const paxSize = pax?.get('size');
    let size = headerSize;
    if (paxSize !== undefined) {
      if (!/^(0|[1-9][0-9]{0,15})$/.test(paxSize) || !Number.isSafeInteger(Number(paxSize))) {
        this.#fail('TarFormat', `PAX size ${JSON.stringify(paxSize)} is not a size`, 0);
      }
      size = Number(paxSize);
      if (headerSize !== 0 && headerSize !== size) {
        throw new BackupError(
          'SizeMismatch',
          `entry ${JSON.stringify(path)}: PAX size ${size} disagrees with the header's ${headerSize}`,
        );
      }
    }
    await this.sink.file(path, size);
    if (size === 0) {
      await this.sink.fileEnd();
      this.#state = { kind: 'header' };
    } else {
      this.#state = { kind: 'data', size, left: size };
    }
  }

  #name(block: Uint8Array): string {
    const name = this.#text(block, 0, NAME_BYTES, 'name');
    const prefix = this.#text(block, 345, 155, 'prefix');
    return prefix === '' ? name : `${prefix}/${name}`;
  }

  #text(block: Uint8Array, at: number, width: number, field: string): string {
    const bytes = block.subarray(at, at + width);
    const nul = bytes.indexOf(0);
    const used = nul < 0 ? bytes : bytes.subarray(0, nul);
    if (nul >= 0 && bytes.subarray(nul).some((b) => b !== 0))
      this.#fail('TarFormat', `${field} field has bytes after its NUL`, at);
    try {
      return utf8Strict.decode(used);
    } catch {
      return this.#fail('TarFormat', `${field} field is not UTF-8`, at);
    }
  }

  /** Exactly what the writer emits: `width - 1` octal digits and a NUL (the checksum: 6, NUL, space). */
  #octal(block: Uint8Array, at: number, width: number, field: string): number {
    const text = ascii(block, at, width);
    const digits = field === 'checksum' ? 6 : width - 1;
    const end = field === 'checksum' ? '\u0000 ' : '\u0000';
    if (
      text.length !== digits + end.length ||
      !/^[0-7]+$/.test(text.slice(0, digits)) ||
      !text.endsWith(end)
    ) {
      return this.#fail(
        'TarFormat',
        `${field} field ${JSON.stringify(text)} is not ${digits} octal digits`,
        at,
      );
    }
    return Number.parseInt(text.slice(0, digits), 8);
  }

  #parsePax(bytes: Uint8Array): Map<string, string> {
    const records = new Map<string, string>();
    let at = 0;
    while (at < bytes.length) {
      const space = bytes.indexOf(0x20, at);
      const lengthText = space < 0 ? '' : ascii(bytes, at, space - at);
      if (!/^[1-9][0-9]{0,5}$/.test(lengthText))
        this.#fail('TarFormat', 'PAX record length is not a number', at);
      const length = Number(lengthText);
      const end = at + length;
      if (end > bytes.length || bytes[end - 1] !== 0x0a)
        this.#fail('TarFormat', 'PAX record overruns its header', at);
      let record: string;
      try {
        record = utf8Strict.decode(bytes.subarray(space + 1, end - 1));
      } catch {
        return this.#fail('TarFormat', 'PAX record is not UTF-8', at);
      }
      const eq = record.indexOf('=');
      const key = record.slice(0, eq);
      if (eq <= 0 || !KNOWN_PAX_KEYS.has(key))
        this.#fail('TarFormat', `PAX record ${JSON.stringify(key)} is not one this format uses`, at);
      if (records.has(key)) this.#fail('TarFormat', `PAX record ${key} appears twice`, at);
      records.set(key, record.slice(eq + 1));
      at = end;
    }
    return records;
  }

  #fail(code: 'TarFormat', what: string, within: number): never {
    throw new BackupError(code, `tar: ${what} (offset ${this.#offset + within})`);
  }
}

function ascii(bytes: Uint8Array, at: number, width: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + width));
}
