/**
 * Byte-order helpers: the only big-endian / little-endian loads and stores in pktkit.
 *
 * Every wire view reads its fields through these. They take the byte array and an absolute
 * offset and do no bounds checking: a view's `check()` at the trust boundary guarantees that
 * every offset its accessors use is inside the buffer.
 *
 * V8 notes: byte loads from a Uint8Array with shifts compile to a handful of instructions and
 * allocate nothing. A `>>> 0` result above 2^31 is not a small integer; keep such values in
 * locals or typed arrays (or fold them to int32 with `| 0`) rather than in object fields or Map
 * keys, where V8 would box them.
 */

/** A zero-length array that views can point at before their first `reset()`. */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** Reads an unsigned 16-bit big-endian integer. */
export function be16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}

/** Reads an unsigned 32-bit big-endian integer (as a uint32). */
export function be32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

/** Reads a 32-bit big-endian integer as a signed int32 (a small integer in V8: a cheap Map key). */
export function be32i(b: Uint8Array, off: number): number {
  return (b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!;
}

/** Writes the low 16 bits of `v` big-endian. */
export function setBe16(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 8;
  b[off + 1] = v;
}

/** Writes the low 32 bits of `v` big-endian. */
export function setBe32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = v >>> 16;
  b[off + 2] = v >>> 8;
  b[off + 3] = v;
}

/** Reads an unsigned 16-bit little-endian integer. */
export function le16(b: Uint8Array, off: number): number {
  return b[off]! | (b[off + 1]! << 8);
}

/** Reads an unsigned 32-bit little-endian integer (as a uint32). */
export function le32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

/** Writes the low 16 bits of `v` little-endian. */
export function setLe16(b: Uint8Array, off: number, v: number): void {
  b[off] = v;
  b[off + 1] = v >>> 8;
}

/** Writes the low 32 bits of `v` little-endian. */
export function setLe32(b: Uint8Array, off: number, v: number): void {
  b[off] = v;
  b[off + 1] = v >>> 8;
  b[off + 2] = v >>> 16;
  b[off + 3] = v >>> 24;
}

/**
 * Reads a 48-bit MAC address as a number (exact: below 2^53). Self-contained rather than calling
 * be32, so that its callers stay small enough for V8 to inline (a double returned from a call
 * that is not inlined is boxed: an allocation per frame).
 */
export function readMac(b: Uint8Array, off: number): number {
  return ((b[off]! << 8) | b[off + 1]!) * 0x1_0000_0000 + (((b[off + 2]! << 24) | (b[off + 3]! << 16) | (b[off + 4]! << 8) | b[off + 5]!) >>> 0);
}

/** Writes a 48-bit MAC address held as a number. */
export function writeMac(b: Uint8Array, off: number, mac: number): void {
  const hi = Math.floor(mac / 0x1_0000_0000);
  b[off] = hi >>> 8;
  b[off + 1] = hi;
  setBe32(b, off + 2, mac >>> 0);
}

/** True when the `len` bytes at `aOff` in `a` equal those at `bOff` in `b`. */
export function bytesEqual(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

/** Lower-case hex of a byte range (cold path: tests, logs, errors). */
export function toHex(b: Uint8Array, off = 0, len = b.length - off): string {
  let s = '';
  for (let i = off; i < off + len; i++) s += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
}

/**
 * Parses hex into a new array (cold path). Whitespace, ':' and '-' are ignored so that
 * vectors can be pasted from captures and RFCs as they are printed.
 * @throws {TypeError} when the input has an odd number of digits or a non-hex character.
 */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/[\s:-]/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new TypeError(`fromHex: expected an even number of hex digits, got ${JSON.stringify(hex.slice(0, 40))}`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}
