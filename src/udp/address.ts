/**
 * UDP peer addresses in the compact form the batched socket reads and writes: 8 int32 words per
 * datagram in an Int32Array (native/src/udp.rs has the same table), so that a batch of a thousand
 * datagrams from a thousand peers makes no JavaScript object.
 *
 *   word  0       1      2..5                                6          7
 *         family  port   address                             scope id   GRO segment (receive)
 *         4|6|0   host   IPv4: [2] = the u32 (10.0.0.1 is    IPv6       size when the entry holds
 *                 order  0x0a000001, stored as int32),       link-local coalesced datagrams,
 *                        [3..5] = 0; IPv6: 4 big-endian      zone       else 0
 *                        u32 words, each stored as int32
 *
 * Family 0 on send means "the connected peer". An IPv6 socket reports IPv4 peers (v4-mapped
 * on the wire) as family 4 and sends family-4 records v4-mapped, so a dual-stack server keys
 * each peer one way.
 *
 * `UdpAddrView` reads a record in place (reused, `reset` per datagram, as every view in pktkit);
 * `UdpEndpoint` is the owned, immutable configuration value (parsed from text at the edges).
 */

import { PktTypeError, intInRange } from '../errors.js';
import { IpAddr, formatIPv4, formatIPv6 } from '../wire/addr.js';

/** Words per address record. */
export const ADDR_WORDS = 8;

/** Word indices inside a record. */
export const AddrWord = {
  Family: 0,
  Port: 1,
  /** First of the 4 address words. */
  Addr: 2,
  Scope: 6,
  /** Receive: the GRO segment size of the entry (0: one datagram). */
  Segment: 7,
} as const;

const FAMILY = AddrWord.Family;
const PORT = AddrWord.Port;
const ADDR = AddrWord.Addr;
const SCOPE = AddrWord.Scope;
const EMPTY_RECORD = new Int32Array(ADDR_WORDS);

/**
 * A peer address record read in place: `reset(words, off)` points it at the record starting
 * at `words[off]`. Valid as long as the record is (a receive handler's view: until it returns).
 */
export class UdpAddrView {
  words: Int32Array = EMPTY_RECORD;
  off = 0;

  reset(words: Int32Array, off: number): this {
    this.words = words;
    this.off = off;
    return this;
  }

  /** 4, 6, or 0 (no address). */
  get family(): number {
    return this.words[this.off + FAMILY]!;
  }
  get port(): number {
    return this.words[this.off + PORT]!;
  }
  /**
   * The IPv4 address as an int32 (the u32 with its top bit as the sign): the form to key tables
   * with, since a u32 at or above 2^31 is boxed when it crosses a call V8 did not inline.
   */
  get ipv4i(): number {
    return this.words[this.off + ADDR]!;
  }
  /** The IPv4 address as a u32 (10.0.0.1 = 0x0a000001). */
  get ipv4(): number {
    return this.words[this.off + ADDR]! >>> 0;
  }
  /** Address word `k` (0..3) as an int32: IPv6 bytes 4k..4k+3, big-endian. */
  addrWord(k: number): number {
    return this.words[this.off + ADDR + k]!;
  }
  get scope(): number {
    return this.words[this.off + SCOPE]!;
  }

  /** True when this record names the same peer as `other` (a view or an endpoint). */
  equals(other: UdpAddrView | UdpEndpoint): boolean {
    const a = this.words;
    const ao = this.off;
    const b = other instanceof UdpEndpoint ? other.record : other.words;
    const bo = other instanceof UdpEndpoint ? 0 : other.off;
    for (let k = 0; k < AddrWord.Segment; k++) if (a[ao + k] !== b[bo + k]) return false;
    return true;
  }

  /** An owned copy (cold path: allocates). */
  copy(): UdpEndpoint {
    return UdpEndpoint.fromRecord(this.words, this.off);
  }

  /** `10.0.0.1:51820` or `[2001:db8::1]:51820` (cold path). */
  toString(): string {
    return formatRecord(this.words, this.off);
  }
}

/** Copies the peer part (words 0..6) of the record at `src[srcOff]` to `dst[dstOff]`. */
export function copyRecord(src: Int32Array, srcOff: number, dst: Int32Array, dstOff: number): void {
  for (let k = 0; k < AddrWord.Segment; k++) dst[dstOff + k] = src[srcOff + k]!;
}

function formatRecord(w: Int32Array, off: number): string {
  const family = w[off + FAMILY]!;
  const port = w[off + PORT]!;
  if (family === 4) return `${formatIPv4(w[off + ADDR]! >>> 0)}:${port}`;
  if (family === 6) {
    const b = new Uint8Array(16);
    for (let k = 0; k < 4; k++) {
      const v = w[off + ADDR + k]!;
      b[k * 4] = v >>> 24;
      b[k * 4 + 1] = (v >>> 16) & 0xff;
      b[k * 4 + 2] = (v >>> 8) & 0xff;
      b[k * 4 + 3] = v & 0xff;
    }
    const scope = w[off + SCOPE]!;
    return `[${formatIPv6(b)}${scope !== 0 ? `%${scope}` : ''}]:${port}`;
  }
  return '(none)';
}

/** What `UdpEndpoint.from` accepts. */
export type UdpEndpointLike = UdpEndpoint | string | { address: string | IpAddr; port: number; scope?: number };

/**
 * A UDP endpoint (address and port) as an owned, immutable value. `record` is its 8-word
 * form, ready to copy into a batch.
 */
export class UdpEndpoint {
  readonly record: Int32Array;

  private constructor(record: Int32Array) {
    this.record = record;
  }

  /**
   * Parses `10.0.0.1:51820`, `[2001:db8::1]:51820` or `[fe80::1%3]:51820` (numeric scope id).
   * @throws {PktTypeError} code ERR_PKT_INVALID_ADDRESS when `s` is neither.
   */
  static parse(s: string): UdpEndpoint {
    if (typeof s !== 'string') throw badEndpoint(s);
    let host: string;
    let portText: string;
    let scope = 0;
    if (s.startsWith('[')) {
      const close = s.indexOf(']');
      if (close === -1 || s[close + 1] !== ':') throw badEndpoint(s);
      host = s.slice(1, close);
      portText = s.slice(close + 2);
      const pct = host.indexOf('%');
      if (pct !== -1) {
        const z = host.slice(pct + 1);
        if (!/^\d{1,10}$/.test(z)) throw badEndpoint(s);
        scope = Number(z);
        host = host.slice(0, pct);
      }
    } else {
      const colon = s.lastIndexOf(':');
      if (colon === -1 || s.indexOf(':') !== colon) throw badEndpoint(s);
      host = s.slice(0, colon);
      portText = s.slice(colon + 1);
    }
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw badEndpoint(s);
    let addr: IpAddr;
    try {
      addr = IpAddr.parse(host);
    } catch {
      throw badEndpoint(s);
    }
    if (s.startsWith('[') !== (addr.family === 6)) throw badEndpoint(s);
    return UdpEndpoint.of(addr, Number(portText), scope);
  }

  /** An endpoint from an address and a port (and an IPv6 scope id). */
  static of(address: IpAddr | string, port: number, scope = 0): UdpEndpoint {
    const a = IpAddr.from(address);
    intInRange('UdpEndpoint: port', port, 0, 65535);
    intInRange('UdpEndpoint: scope', scope, 0, 0xffff_ffff);
    const r = new Int32Array(ADDR_WORDS);
    r[FAMILY] = a.family;
    r[PORT] = port;
    if (a.family === 4) {
      r[ADDR] = a.v4 | 0;
    } else {
      const b = a.bytes;
      for (let k = 0; k < 4; k++) r[ADDR + k] = (b[k * 4]! << 24) | (b[k * 4 + 1]! << 16) | (b[k * 4 + 2]! << 8) | b[k * 4 + 3]!;
      r[SCOPE] = scope | 0;
    }
    return new UdpEndpoint(r);
  }

  /** An endpoint from the record at `words[off]` (copied). */
  static fromRecord(words: ArrayLike<number>, off = 0): UdpEndpoint {
    const r = new Int32Array(ADDR_WORDS);
    for (let k = 0; k < AddrWord.Segment; k++) r[k] = words[off + k]!;
    const f = r[FAMILY];
    if (f !== 4 && f !== 6 && f !== 0) throw new PktTypeError(`UdpEndpoint.fromRecord: expected family 4 or 6, got ${String(f)}`);
    return new UdpEndpoint(r);
  }

  /**
   * Accepts an endpoint, its text, or `{ address, port }`.
   * @throws {PktTypeError} code ERR_PKT_INVALID_ADDRESS on anything else.
   */
  static from(e: UdpEndpointLike): UdpEndpoint {
    if (e instanceof UdpEndpoint) return e;
    if (typeof e === 'string') return UdpEndpoint.parse(e);
    if (e !== null && typeof e === 'object' && 'address' in e && 'port' in e) return UdpEndpoint.of(e.address, e.port, e.scope ?? 0);
    throw badEndpoint(e);
  }

  get family(): 4 | 6 {
    return this.record[FAMILY] === 6 ? 6 : 4;
  }
  get port(): number {
    return this.record[PORT]!;
  }
  get address(): IpAddr {
    if (this.record[FAMILY] === 4) return IpAddr.fromV4(this.record[ADDR]! >>> 0);
    const b = new Uint8Array(16);
    for (let k = 0; k < 4; k++) {
      const v = this.record[ADDR + k]!;
      b[k * 4] = v >>> 24;
      b[k * 4 + 1] = (v >>> 16) & 0xff;
      b[k * 4 + 2] = (v >>> 8) & 0xff;
      b[k * 4 + 3] = v & 0xff;
    }
    return IpAddr.fromBytes(b);
  }
  get scope(): number {
    return this.record[SCOPE]! >>> 0;
  }

  /** True when both name the same peer. */
  equals(other: UdpEndpoint | UdpAddrView): boolean {
    const b = other instanceof UdpEndpoint ? other.record : other.words;
    const bo = other instanceof UdpEndpoint ? 0 : other.off;
    for (let k = 0; k < AddrWord.Segment; k++) if (this.record[k] !== b[bo + k]) return false;
    return true;
  }

  toString(): string {
    return formatRecord(this.record, 0);
  }
}

function badEndpoint(s: unknown): PktTypeError {
  return new PktTypeError(
    `expected a UDP endpoint like 10.0.0.1:51820 or [2001:db8::1]:51820, got ${JSON.stringify(String(s)).slice(0, 60)}`,
    'ERR_PKT_INVALID_ADDRESS',
  );
}
