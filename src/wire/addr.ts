/**
 * Addresses at the edges: parsing and formatting of MAC, IPv4 and IPv6 addresses and prefixes.
 *
 * Inside engines addresses are numbers: a MAC is a 48-bit number, an IPv4 address a uint32, an
 * IPv6 address 16 bytes (read in place from the packet, or four uint32 words). Strings exist only
 * here, for configuration and display. Everything in this file may allocate; none of it belongs
 * on a packet path except the `contains…` tests of `IpPrefix`, which allocate nothing.
 *
 * Text forms: MACs as six colon- or hyphen-separated hex pairs; IPv4 as a strict dotted quad
 * (no leading zeros, as Go's netip); IPv6 as RFC 4291 §2.2 text, formatted per RFC 5952
 * (lower case, the longest run of two or more zero groups shortened to `::`, IPv4-mapped
 * addresses with a dotted-quad tail).
 */

import { PktTypeError } from '../errors.js';
import { be32, setBe32 } from './bytes.js';

// ---------------------------------------------------------------------------------------------
// MAC addresses (48-bit numbers)

/** ff:ff:ff:ff:ff:ff as a number. */
export const BROADCAST_MAC = 0xffff_ffff_ffff;

function badAddress(kind: string, s: unknown): PktTypeError {
  return new PktTypeError(`expected ${kind}, got ${JSON.stringify(String(s)).slice(0, 60)}`, 'ERR_PKT_INVALID_ADDRESS');
}

/**
 * Parses `aa:bb:cc:dd:ee:ff` (or with `-`) into a 48-bit number.
 * @throws {PktTypeError} code ERR_PKT_INVALID_ADDRESS when `s` is not such a string.
 */
export function parseMac(s: string): number {
  if (typeof s !== 'string' || !/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(s)) {
    throw badAddress('a MAC address like 52:54:00:12:34:56', s);
  }
  return parseInt(s.replace(/[:-]/g, ''), 16);
}

/** Formats a 48-bit MAC number as `aa:bb:cc:dd:ee:ff`. */
export function formatMac(mac: number): string {
  const h = mac.toString(16).padStart(12, '0');
  return `${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}:${h.slice(6, 8)}:${h.slice(8, 10)}:${h.slice(10, 12)}`;
}

/** True for group (multicast and broadcast) MACs: the I/G bit of the first octet. */
export function isGroupMac(mac: number): boolean {
  return (Math.floor(mac / 0x100_0000_0000) & 1) === 1;
}

/**
 * A random locally administered unicast MAC (first octet: U/L bit set, I/G bit clear).
 * `random` fills a 6-byte array; by default crypto.getRandomValues.
 */
export function randomLocalMac(random: (b: Uint8Array) => void = (b) => crypto.getRandomValues(b)): number {
  const b = new Uint8Array(6);
  random(b);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return ((b[0]! << 8) | b[1]!) * 0x1_0000_0000 + be32(b, 2);
}

/** Coerces a MAC given as a number or a string. @throws {PktTypeError} when neither. */
export function toMac(mac: number | string): number {
  if (typeof mac === 'number') {
    if (!Number.isInteger(mac) || mac < 0 || mac > BROADCAST_MAC) throw badAddress('a 48-bit MAC number', mac);
    return mac;
  }
  return parseMac(mac);
}

// ---------------------------------------------------------------------------------------------
// IPv4 (uint32)

const V4_RE = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

function tryParseV4(s: string): number {
  const m = V4_RE.exec(s);
  if (m === null) return -1;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) return -1;
    v = v * 256 + o;
  }
  return v;
}

/**
 * Parses a dotted quad into a uint32.
 * @throws {PktTypeError} code ERR_PKT_INVALID_ADDRESS when `s` is not a dotted quad.
 */
export function parseIPv4(s: string): number {
  const v = typeof s === 'string' ? tryParseV4(s) : -1;
  if (v < 0) throw badAddress('an IPv4 address like 10.0.0.1', s);
  return v;
}

/** Formats a uint32 as a dotted quad. */
export function formatIPv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

// ---------------------------------------------------------------------------------------------
// IPv6 (16 bytes)

function tryParseV6(s: string, out: Uint8Array): boolean {
  if (s.length < 2 || s.length > 45) return false;
  const dbl = s.indexOf('::');
  if (dbl !== -1 && s.indexOf('::', dbl + 1) !== -1) return false;
  const head = dbl === -1 ? s : s.slice(0, dbl);
  const tail = dbl === -1 ? '' : s.slice(dbl + 2);
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === '' ? [] : tail.split(':');
  const words: number[] = [];
  const tailWords: number[] = [];
  const all = [...headParts, ...tailParts];
  for (let i = 0; i < all.length; i++) {
    const p = all[i]!;
    const target = i < headParts.length ? words : tailWords;
    if (i === all.length - 1 && p.includes('.')) {
      const v4 = tryParseV4(p);
      if (v4 < 0) return false;
      target.push(v4 >>> 16, v4 & 0xffff);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return false;
      target.push(parseInt(p, 16));
    }
  }
  const n = words.length + tailWords.length;
  if (dbl === -1 ? n !== 8 : n > 7) return false;
  const full = [...words, ...new Array<number>(8 - n).fill(0), ...tailWords];
  for (let i = 0; i < 8; i++) {
    out[i * 2] = full[i]! >>> 8;
    out[i * 2 + 1] = full[i]! & 0xff;
  }
  return true;
}

/**
 * Parses RFC 4291 §2.2 text (with `::` and an optional dotted-quad tail) into 16 bytes.
 * Zones (`%eth0`) are not accepted.
 * @throws {PktTypeError} code ERR_PKT_INVALID_ADDRESS when `s` is not an IPv6 address.
 */
export function parseIPv6(s: string, out: Uint8Array = new Uint8Array(16)): Uint8Array {
  if (typeof s !== 'string' || !tryParseV6(s, out)) throw badAddress('an IPv6 address like 2001:db8::1', s);
  return out;
}

/** Formats the 16 bytes at `off` per RFC 5952 §4. */
export function formatIPv6(b: Uint8Array, off = 0): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[off + i * 2]! << 8) | b[off + i * 2 + 1]!);
  // RFC 5952 §5: IPv4-mapped addresses keep a dotted-quad tail.
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `::ffff:${formatIPv4(be32(b, off + 12))}`;
  }
  // §4.2.3: shorten the longest run of zero groups (the first, on a tie); §4.2.2: never a lone one.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((x) => x.toString(16)).join(':');
  if (bestStart === -1) return hex(w);
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLen))}`;
}

// ---------------------------------------------------------------------------------------------
// IpAddr and IpPrefix: configuration values

/**
 * An IPv4 or IPv6 address as a configuration value. Immutable.
 * `v4` is the uint32 of an IPv4 address (0 for IPv6); `bytes` holds 4 or 16 bytes.
 */
export class IpAddr {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly v4: number;

  private constructor(family: 4 | 6, bytes: Uint8Array) {
    this.family = family;
    this.bytes = bytes;
    this.v4 = family === 4 ? be32(bytes, 0) : 0;
  }

  /**
   * Parses an IPv4 or IPv6 address.
   * @throws {PktTypeError} code ERR_PKT_INVALID_ADDRESS when `s` is neither.
   */
  static parse(s: string): IpAddr {
    if (typeof s === 'string') {
      const v4 = tryParseV4(s);
      if (v4 >= 0) return IpAddr.fromV4(v4);
      const b = new Uint8Array(16);
      if (tryParseV6(s, b)) return new IpAddr(6, b);
    }
    throw badAddress('an IPv4 or IPv6 address', s);
  }

  /** An IPv4 address from its uint32. */
  static fromV4(v: number): IpAddr {
    const b = new Uint8Array(4);
    setBe32(b, 0, v);
    return new IpAddr(4, b);
  }

  /** An address from 4 or 16 bytes at `off` (copied). @throws {PktTypeError} on another length. */
  static fromBytes(b: Uint8Array, off = 0, len = b.length - off): IpAddr {
    if (len !== 4 && len !== 16) throw new PktTypeError(`IpAddr.fromBytes: expected 4 or 16 bytes, got ${len}`);
    return new IpAddr(len === 4 ? 4 : 6, b.slice(off, off + len));
  }

  /** Accepts an IpAddr or its text. */
  static from(a: IpAddr | string): IpAddr {
    return a instanceof IpAddr ? a : IpAddr.parse(a);
  }

  is4(): boolean {
    return this.family === 4;
  }

  equals(o: IpAddr): boolean {
    if (o.family !== this.family) return false;
    for (let i = 0; i < this.bytes.length; i++) if (this.bytes[i] !== o.bytes[i]) return false;
    return true;
  }

  toString(): string {
    return this.family === 4 ? formatIPv4(this.v4) : formatIPv6(this.bytes);
  }
}

/**
 * An address with a prefix length, as Go's netip.Prefix: `10.0.0.1/24` is the address 10.0.0.1
 * on the network 10.0.0.0/24 (host bits are kept; `masked()` drops them). Immutable.
 *
 * For matching without allocation it precomputes the network as four uint32 words (`net`) and the
 * mask (`mask`); IPv4 uses word 0 only.
 */
export class IpPrefix {
  readonly addr: IpAddr;
  readonly bits: number;
  /** The masked network, big-endian words (IPv4 in word 0). */
  readonly net: Uint32Array;
  /** The mask words. */
  readonly mask: Uint32Array;

  constructor(addr: IpAddr, bits: number) {
    const max = addr.family === 4 ? 32 : 128;
    if (!Number.isInteger(bits) || bits < 0 || bits > max) {
      throw new PktTypeError(`IpPrefix: expected a prefix length in [0, ${max}], got ${String(bits)}`, 'ERR_PKT_INVALID_ADDRESS');
    }
    this.addr = addr;
    this.bits = bits;
    this.mask = new Uint32Array(4);
    this.net = new Uint32Array(4);
    const words = addr.family === 4 ? 1 : 4;
    for (let i = 0; i < words; i++) {
      const left = bits - i * 32;
      const m = left >= 32 ? 0xffff_ffff : left <= 0 ? 0 : (0xffff_ffff << (32 - left)) >>> 0;
      this.mask[i] = m;
      this.net[i] = (be32(addr.bytes, i * 4) & m) >>> 0;
    }
  }

  /**
   * Parses `addr/len`; a bare address gets the full length (/32 or /128).
   * @throws {PktTypeError} code ERR_PKT_INVALID_ADDRESS on anything else.
   */
  static parse(s: string): IpPrefix {
    if (typeof s !== 'string') throw badAddress('a prefix like 10.0.0.1/24', s);
    const slash = s.indexOf('/');
    const addr = IpAddr.parse(slash === -1 ? s : s.slice(0, slash));
    if (slash === -1) return new IpPrefix(addr, addr.family === 4 ? 32 : 128);
    const lenText = s.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(lenText)) throw badAddress('a prefix like 10.0.0.1/24', s);
    return new IpPrefix(addr, Number(lenText));
  }

  /** Accepts an IpPrefix or its text. */
  static from(p: IpPrefix | string): IpPrefix {
    return p instanceof IpPrefix ? p : IpPrefix.parse(p);
  }

  get family(): 4 | 6 {
    return this.addr.family;
  }

  /** The prefix with host bits cleared. */
  masked(): IpPrefix {
    const b = new Uint8Array(this.addr.family === 4 ? 4 : 16);
    for (let i = 0; i < b.length / 4; i++) setBe32(b, i * 4, this.net[i]!);
    return new IpPrefix(IpAddr.fromBytes(b), this.bits);
  }

  /** True when the IPv4 address `v` (uint32) is inside this IPv4 prefix. Allocates nothing. */
  containsV4(v: number): boolean {
    return this.addr.family === 4 && ((v & this.mask[0]!) >>> 0) === this.net[0];
  }

  /** True when the 16 bytes at `off` in `b` are inside this IPv6 prefix. Allocates nothing. */
  containsV6(b: Uint8Array, off: number): boolean {
    if (this.addr.family !== 6) return false;
    for (let i = 0; i < 4; i++) {
      if (((be32(b, off + i * 4) & this.mask[i]!) >>> 0) !== this.net[i]) return false;
    }
    return true;
  }

  /** True when `a` is inside this prefix (same family). */
  contains(a: IpAddr): boolean {
    return a.family === 4 ? this.containsV4(a.v4) : this.containsV6(a.bytes, 0);
  }

  /** Same address and length (host bits included). */
  equals(o: IpPrefix): boolean {
    return this.bits === o.bits && this.addr.equals(o.addr);
  }

  /** Same network: same family and length, host bits ignored. */
  sameNetwork(o: IpPrefix): boolean {
    if (this.bits !== o.bits || this.family !== o.family) return false;
    for (let i = 0; i < 4; i++) if (this.net[i] !== o.net[i]) return false;
    return true;
  }

  toString(): string {
    return `${this.addr.toString()}/${this.bits}`;
  }
}
