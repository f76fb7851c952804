/**
 * DNS names in wire form: RFC 1035 §3.1 (labels), §4.1.4 (message compression), §2.3.4 (size
 * limits), and the text form of RFC 1035 §5.1 for display.
 *
 *   name   = *label (root / pointer)
 *   label  = 0b00 len(6 bits, 1-63) + len bytes
 *   root   = 0x00
 *   pointer= 0b11 offset(14 bits): "the rest of the name is at this offset from the start of the
 *            message"
 *
 * The zero-allocation helpers here (`dnsSkipName`, `dnsNameWireLen`, `dnsNameEquals`) validate
 * every name they walk, pointers included, and return a status instead of throwing. The rules:
 *
 * - Labels are 1-63 bytes; the name in wire form, pointers expanded, is at most 255 bytes
 *   (RFC 1035 §2.3.4), counting every length byte and the root.
 * - Label types 0b01 and 0b10 are rejected with BadValue (0b01 marks the extended label types of
 *   RFC 6891 §5, whose one use, RFC 2673 bit labels, is historic; 0b10 is reserved). A 64-byte
 *   label cannot be written: its length byte, 0x40, reads as type 0b01.
 * - A pointer must point strictly backwards: to an offset below its own position, and every
 *   further pointer of the same name to an offset below the previous target. The targets thus
 *   fall strictly, which rules out loops (RFC 9267 §2 describes the loops and forward pointers
 *   that have broken parsers); anything else is BadPointer. Every compressor writes pointers to names
 *   it has already written, so its output always passes.
 * - A pointer may not point into the 12-byte header, and a name follows at most
 *   DNS_MAX_POINTER_HOPS pointers. With the 255-byte limit this bounds the work per name by a
 *   constant, so walking a message is linear in its size however its pointers are arranged.
 *
 * Offsets are absolute indexes into `buf`; `msgOff` is where the DNS message starts (compression
 * offsets count from there) and `msgEnd` where it ends (exclusive).
 *
 * The text helpers (`dnsNameToText`, `dnsNameFromText`) are for the cold path: display, the
 * decoder and the emitter. Text form: labels joined by '.', no trailing dot, the root as '.';
 * inside a label '.' and '\' are escaped with a backslash and any byte outside 0x21-0x7e as \DDD
 * (three decimal digits), so that every name survives text and back. Comparison is ASCII
 * case-insensitive (RFC 4343 §3); no IDNA or Unicode case folding is done here.
 */

import { PktTypeError } from '../errors.js';
import { EMPTY_BYTES } from './bytes.js';
import { WireStatus, wireFormatError } from './status.js';

/** RFC 1035 §4.1.1: the header is 12 bytes; names start after it. */
export const DNS_HEADER_LEN = 12;
/** RFC 1035 §2.3.4: labels are 63 octets or less. */
export const DNS_LABEL_MAX_LEN = 63;
/** RFC 1035 §2.3.4: names are 255 octets or less (wire form, length bytes and root included). */
export const DNS_NAME_MAX_LEN = 255;
/** RFC 1035 §4.1.4: a pointer's 14-bit offset; names written past this cannot be pointed to. */
export const DNS_POINTER_MAX_OFFSET = 0x3fff;
/**
 * Most pointers one name may follow (our limit, not the RFC's). A 255-byte name has at most 127
 * labels, so a name never needs more pointers than that; a chain of pointers to pointers that
 * goes further only costs the parser time.
 */
export const DNS_MAX_POINTER_HOPS = 127;

const LABEL_TYPE_MASK = 0xc0;
const LABEL_TYPE_POINTER = 0xc0;
const POINTER_HIGH_MASK = 0x3f;
const POINTER_LEN = 2;
const ROOT_LABEL = 0;
const ASCII_UPPER_A = 0x41;
const ASCII_UPPER_Z = 0x5a;
const ASCII_CASE_BIT = 0x20;

/**
 * Walks one name label by label, following pointers, validating as it goes. Zero value unusable:
 * call `reset` first. Reused (module instances below), so not reentrant.
 */
class LabelCursor {
  buf: Uint8Array = EMPTY_BYTES;
  msgOff = 0;
  msgEnd = 0;
  /** Next byte to read: a length byte or a pointer. */
  pos = 0;
  /** Offset of the current label's first byte (after its length byte). */
  dataOff = 0;
  /** Offset just past the name where it is written (after the root or the first pointer); -1 until known. */
  end = -1;
  /** Every pointer must target an offset (from msgOff) below this; -1 before the first pointer. */
  limit = -1;
  hops = 0;
  /** Wire length so far, pointers expanded. */
  wireLen = 0;

  reset(buf: Uint8Array, msgOff: number, msgEnd: number, off: number): this {
    this.buf = buf;
    this.msgOff = msgOff;
    this.msgEnd = msgEnd;
    this.pos = off;
    this.dataOff = off;
    this.end = -1;
    this.limit = -1;
    this.hops = 0;
    this.wireLen = 0;
    return this;
  }

  /**
   * Moves to the next label and returns its length (0 for the root, which ends the name), with
   * `dataOff` at its first byte and every byte of it inside the message; or a negative WireStatus.
   */
  next(): number {
    const b = this.buf;
    for (;;) {
      const p = this.pos;
      if (p >= this.msgEnd) return -WireStatus.Truncated;
      const c = b[p]!;
      const kind = c & LABEL_TYPE_MASK;
      if (kind === 0) {
        this.wireLen += c + 1;
        if (c === ROOT_LABEL) {
          if (this.end < 0) this.end = p + 1;
          this.pos = p + 1;
          this.dataOff = p + 1;
          return 0;
        }
        // The root byte is still to come, so the name is too long already at 255.
        if (this.wireLen >= DNS_NAME_MAX_LEN) return -WireStatus.TooLong;
        if (p + 1 + c > this.msgEnd) return -WireStatus.Truncated;
        this.dataOff = p + 1;
        this.pos = p + 1 + c;
        return c;
      }
      if (kind !== LABEL_TYPE_POINTER) return -WireStatus.BadValue;
      if (p + POINTER_LEN > this.msgEnd) return -WireStatus.Truncated;
      const target = ((c & POINTER_HIGH_MASK) << 8) | b[p + 1]!;
      const bound = this.limit < 0 ? p - this.msgOff : this.limit;
      if (target >= bound || target < DNS_HEADER_LEN) return -WireStatus.BadPointer;
      if (++this.hops > DNS_MAX_POINTER_HOPS) return -WireStatus.BadPointer;
      if (this.end < 0) this.end = p + POINTER_LEN;
      this.limit = target;
      this.pos = this.msgOff + target;
    }
  }
}

const cursorA = new LabelCursor();
const cursorB = new LabelCursor();

function walkToEnd(c: LabelCursor): number {
  for (;;) {
    const n = c.next();
    if (n < 0) return n;
    if (n === 0) return c.end;
  }
}

/**
 * Validates the name at `off` and returns the offset just past it as written (after its root
 * label or its first pointer), or a negative WireStatus (`-status`). Allocates nothing.
 */
export function dnsSkipName(buf: Uint8Array, msgOff: number, msgEnd: number, off: number): number {
  return walkToEnd(cursorA.reset(buf, msgOff, msgEnd, off));
}

/**
 * Validates the name at `off` and returns its wire length with pointers expanded (1 for the
 * root, at most 255), or a negative WireStatus. Allocates nothing.
 */
export function dnsNameWireLen(buf: Uint8Array, msgOff: number, msgEnd: number, off: number): number {
  const c = cursorA.reset(buf, msgOff, msgEnd, off);
  const st = walkToEnd(c);
  return st < 0 ? st : c.wireLen;
}

function foldAscii(c: number): number {
  return c >= ASCII_UPPER_A && c <= ASCII_UPPER_Z ? c | ASCII_CASE_BIT : c;
}

/**
 * True when the name at `aOff` (in the message `a[aMsgOff, aMsgEnd)`) equals the name at `bOff`
 * (in `b[bMsgOff, bMsgEnd)`), comparing ASCII letters case-insensitively (RFC 4343 §3) and
 * following pointers on both sides. A malformed name on either side compares unequal. For a name
 * kept uncompressed in a buffer of its own, pass `0, buf.length, 0`. Allocates nothing.
 */
export function dnsNameEquals(
  a: Uint8Array,
  aMsgOff: number,
  aMsgEnd: number,
  aOff: number,
  b: Uint8Array,
  bMsgOff: number,
  bMsgEnd: number,
  bOff: number,
): boolean {
  const ca = cursorA.reset(a, aMsgOff, aMsgEnd, aOff);
  const cb = cursorB.reset(b, bMsgOff, bMsgEnd, bOff);
  for (;;) {
    const la = ca.next();
    const lb = cb.next();
    if (la < 0 || la !== lb) return false;
    if (la === 0) return true;
    const ao = ca.dataOff;
    const bo = cb.dataOff;
    for (let i = 0; i < la; i++) if (foldAscii(a[ao + i]!) !== foldAscii(b[bo + i]!)) return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Text form (cold path)

const CHAR_DOT = 0x2e;
const CHAR_BACKSLASH = 0x5c;
const CHAR_ZERO = 0x30;
const CHAR_NINE = 0x39;
const PRINTABLE_MIN = 0x21;
const PRINTABLE_MAX = 0x7e;
const BYTE_MAX = 255;

/**
 * The name at `off` as text (labels joined by '.', the root as '.', see the file header for
 * escapes). Cold path: builds a string.
 * @throws {WireFormatError} when the name is malformed (`off` is named in the message).
 */
export function dnsNameToText(buf: Uint8Array, msgOff: number, msgEnd: number, off: number): string {
  const c = cursorB.reset(buf, msgOff, msgEnd, off);
  let s = '';
  for (;;) {
    const n = c.next();
    if (n < 0) throw wireFormatError(`dns name at offset ${off}`, -n as WireStatus, msgOff);
    if (n === 0) return s === '' ? '.' : s;
    if (s !== '') s += '.';
    for (let i = c.dataOff; i < c.dataOff + n; i++) {
      const ch = buf[i]!;
      if (ch === CHAR_DOT || ch === CHAR_BACKSLASH) s += '\\' + String.fromCharCode(ch);
      else if (ch >= PRINTABLE_MIN && ch <= PRINTABLE_MAX) s += String.fromCharCode(ch);
      else s += '\\' + String(ch).padStart(3, '0');
    }
  }
}

function badName(name: string, what: string): PktTypeError {
  const shown = JSON.stringify(name.length > 80 ? name.slice(0, 77) + '...' : name);
  return new PktTypeError(`dns: expected a name of labels 1-63 bytes long, at most 255 bytes in wire form; ${what} in ${shown}`);
}

/**
 * Writes the wire form of the text name `name` (uncompressed, ending with the root) into `out`
 * at `off`, and returns its length. A trailing dot is optional; '' and '.' are the root. `out`
 * needs room for DNS_NAME_MAX_LEN bytes.
 * @throws {PktTypeError} when `name` is not a string, has an empty label ('a..b'), a label
 *   longer than 63 bytes, a bad escape, a character outside printable ASCII, or is longer than
 *   255 bytes in wire form.
 */
export function dnsNameEncode(name: string, out: Uint8Array, off: number): number {
  if (typeof name !== 'string') throw new PktTypeError(`dns: expected a name as a string, got ${typeof name}`);
  if (name === '' || name === '.') {
    out[off] = ROOT_LABEL;
    return 1;
  }
  let lenAt = off; // where the current label's length byte goes
  let w = off + 1;
  let labelLen = 0;
  let i = 0;
  while (i < name.length) {
    let ch = name.charCodeAt(i++);
    if (ch === CHAR_DOT) {
      if (labelLen === 0) throw badName(name, 'an empty label');
      out[lenAt] = labelLen;
      lenAt = w++;
      labelLen = 0;
      continue;
    }
    if (ch === CHAR_BACKSLASH) {
      if (i >= name.length) throw badName(name, 'a backslash at the end');
      ch = name.charCodeAt(i++);
      if (ch >= CHAR_ZERO && ch <= CHAR_NINE) {
        const d2 = name.charCodeAt(i);
        const d3 = name.charCodeAt(i + 1);
        if (!(d2 >= CHAR_ZERO && d2 <= CHAR_NINE && d3 >= CHAR_ZERO && d3 <= CHAR_NINE)) {
          throw badName(name, 'a \\DDD escape without three digits');
        }
        ch = (ch - CHAR_ZERO) * 100 + (d2 - CHAR_ZERO) * 10 + (d3 - CHAR_ZERO);
        if (ch > BYTE_MAX) throw badName(name, `the escape \\${ch} above \\255`);
        i += 2;
      } else if (ch < PRINTABLE_MIN || ch > PRINTABLE_MAX) {
        throw badName(name, 'a backslash before a character outside printable ASCII');
      }
    } else if (ch < PRINTABLE_MIN || ch > PRINTABLE_MAX) {
      throw badName(name, `the character ${JSON.stringify(String.fromCharCode(ch))} (use \\DDD escapes and punycode)`);
    }
    if (labelLen === DNS_LABEL_MAX_LEN) throw badName(name, 'a label longer than 63 bytes');
    // Room for this byte and the root label after it.
    if (w + 1 - off >= DNS_NAME_MAX_LEN) throw badName(name, 'more than 255 bytes');
    out[w++] = ch;
    labelLen++;
  }
  // A trailing dot has already reserved the root's byte at lenAt.
  if (labelLen > 0) {
    out[lenAt] = labelLen;
    lenAt = w++;
  }
  out[lenAt] = ROOT_LABEL;
  return w - off;
}

/**
 * The wire form of a text name, uncompressed, in a new array: what a resolver keeps to check
 * answers against its question with `dnsNameEquals(resp, 0, len, off, wire, 0, wire.length, 0)`.
 * @throws {PktTypeError} as `dnsNameEncode`.
 */
export function dnsNameFromText(name: string): Uint8Array {
  const tmp = new Uint8Array(DNS_NAME_MAX_LEN);
  return tmp.slice(0, dnsNameEncode(name, tmp, 0));
}
