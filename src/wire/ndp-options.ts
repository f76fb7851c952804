/**
 * IPv6 Neighbor Discovery options (RFC 4861 §4.6): a zero-allocation cursor over them, typed
 * reads of the options pktkit uses (Source/Target Link-Layer Address §4.6.1, Prefix Information
 * §4.6.2, Redirected Header §4.6.3, MTU §4.6.4), and writers for the first, second and fourth.
 * The messages that carry them are in ndp.ts.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |    Length     |              ...              |
 *   |  (Length is in units of 8 octets, the Type and Length bytes   |
 *   |   included; RFC 4861 §4.6: "The value 0 is invalid.")         |
 *
 * Link-Layer Address options are Ethernet-sized here (one unit: RFC 2464 §6); the cursor rejects
 * another length, as Linux does, rather than read a MAC of the wrong size.
 *
 * Not handled here: the meaning of the other options (Nonce RFC 7527, Route Information
 * RFC 4191, RDNSS/DNSSL RFC 8106, SEND RFC 3971): the cursor hands out their type and bytes.
 */

import { EMPTY_BYTES, be32, readMac, setBe16, setBe32, writeMac } from './bytes.js';
import { WireStatus } from './status.js';

// Option fields (§4.6), from the start of the option.
const OPT_TYPE = 0;
const OPT_LENGTH = 1;
const OPT_HEADER_LEN = 2;
const OPT_UNIT = 8;
const LLA_ADDR = 2;
const PI_PREFIX_LEN = 2;
const PI_FLAGS = 3;
const PI_VALID_LIFETIME = 4;
const PI_PREFERRED_LIFETIME = 8;
const PI_RESERVED2 = 12;
const PI_PREFIX = 16;
const MTU_RESERVED = 2;
const MTU_VALUE = 4;
const RH_DATA = 8;
const PREFIX_BYTES = 16;
const DEFAULT_PREFIX_LEN = 64;

/** Lengths in bytes: a Link-Layer Address option on Ethernet, an MTU option, a Prefix Information option. */
export const NDP_LLA_OPT_LEN = 8;
export const NDP_MTU_OPT_LEN = 8;
export const NDP_PREFIX_OPT_LEN = 32;

/** Option types (RFC 4861 §4.6 and IANA "IPv6 Neighbor Discovery Option Formats"). */
export const NdpOption = {
  SourceLinkAddr: 1,
  TargetLinkAddr: 2,
  PrefixInfo: 3,
  RedirectedHeader: 4,
  Mtu: 5,
  Nonce: 14,
  RouteInfo: 24,
  Rdnss: 25,
  Dnssl: 31,
} as const;

/** Prefix Information flags (§4.6.2): on-link (L) and autonomous address configuration (A). */
export const NDP_PREFIX_FLAG_ON_LINK = 0x80;
export const NDP_PREFIX_FLAG_AUTONOMOUS = 0x40;
/** §4.6.2: a lifetime of all ones is infinity. */
export const NDP_INFINITE_LIFETIME = 0xffff_ffff;

/** True when an option of `type` may be `len` bytes long (the fixed-size ones of §4.6, on Ethernet). */
function optionLenOk(type: number, len: number): boolean {
  switch (type) {
    case NdpOption.SourceLinkAddr:
    case NdpOption.TargetLinkAddr:
      return len === NDP_LLA_OPT_LEN;
    case NdpOption.PrefixInfo:
      return len === NDP_PREFIX_OPT_LEN;
    case NdpOption.Mtu:
      return len === NDP_MTU_OPT_LEN;
    default:
      return true;
  }
}

/**
 * A zero-allocation cursor over ND options. The walk is linear and bounded by the option area
 * (every option is at least 8 bytes). It stops with `status` BadOption on a Length of zero
 * (§4.6), an option running past the area, a partial option header, or one of the fixed-size
 * options (link-layer address, Prefix Information, MTU) with another length. Usage:
 *
 *   view.options(cur);   // NdpView, in ndp.ts: resets `cur` over the message's options
 *   while (cur.next()) { if (cur.type === NdpOption.SourceLinkAddr) mac = cur.linkAddr; }
 *   if (cur.status !== WireStatus.Ok) drop(cur.status);
 *
 * The typed getters read the current option and are in bounds when `type` is theirs.
 */
export class NdpOptionCursor {
  buf: Uint8Array = EMPTY_BYTES;
  /** Offset of the next option. */
  pos = 0;
  /** End of the option area (exclusive). */
  end = 0;
  /** Type of the current option. */
  type = 0;
  /** Offset (in `buf`) of the current option's Type byte. */
  optOff = 0;
  /** Length of the current option in bytes, its header included (8 times the Length field). */
  optLen = 0;
  /** Ok, or BadOption once a malformed option has stopped the walk. */
  status: WireStatus = WireStatus.Ok;

  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.pos = off;
    this.end = off + len;
    this.type = 0;
    this.optOff = 0;
    this.optLen = 0;
    this.status = WireStatus.Ok;
    return this;
  }

  /** Advances to the next option. Returns false at the end of the area or on a bad option. */
  next(): boolean {
    const p = this.pos;
    if (p >= this.end) return false;
    if (p + OPT_HEADER_LEN > this.end) return this.fail();
    const b = this.buf;
    const n = b[p + OPT_LENGTH]! * OPT_UNIT;
    if (n === 0 || p + n > this.end) return this.fail();
    const type = b[p + OPT_TYPE]!;
    if (!optionLenOk(type, n)) return this.fail();
    this.type = type;
    this.optOff = p;
    this.optLen = n;
    this.pos = p + n;
    return true;
  }

  /** Offset (in `buf`) of the current option's data, after Type and Length. */
  get dataOff(): number {
    return this.optOff + OPT_HEADER_LEN;
  }
  /** Source/Target Link-Layer Address (§4.6.1): the MAC as a 48-bit number. */
  get linkAddr(): number {
    return readMac(this.buf, this.optOff + LLA_ADDR);
  }
  /** Prefix Information (§4.6.2): number of leading valid bits of the prefix. */
  get prefixLen(): number {
    return this.buf[this.optOff + PI_PREFIX_LEN]!;
  }
  /** Prefix Information: the L flag. */
  get onLink(): boolean {
    return (this.buf[this.optOff + PI_FLAGS]! & NDP_PREFIX_FLAG_ON_LINK) !== 0;
  }
  /** Prefix Information: the A flag. */
  get autonomous(): boolean {
    return (this.buf[this.optOff + PI_FLAGS]! & NDP_PREFIX_FLAG_AUTONOMOUS) !== 0;
  }
  /** Prefix Information: valid lifetime in seconds (NDP_INFINITE_LIFETIME for ever). */
  get validLifetimeSec(): number {
    return be32(this.buf, this.optOff + PI_VALID_LIFETIME);
  }
  /** Prefix Information: preferred lifetime in seconds. */
  get preferredLifetimeSec(): number {
    return be32(this.buf, this.optOff + PI_PREFERRED_LIFETIME);
  }
  /** Prefix Information: offset (in `buf`) of the 16-byte prefix. */
  get prefixOff(): number {
    return this.optOff + PI_PREFIX;
  }
  /** MTU (§4.6.4): the link MTU in bytes. */
  get mtu(): number {
    return be32(this.buf, this.optOff + MTU_VALUE);
  }
  /** Redirected Header (§4.6.3): offset (in `buf`) of the quoted packet; `optLen - 8` bytes. */
  get redirectedOff(): number {
    return this.optOff + RH_DATA;
  }

  private fail(): false {
    this.status = WireStatus.BadOption;
    this.pos = this.end;
    return false;
  }
}

/** One Prefix Information option (§4.6.2). */
export interface NdpPrefixInfo {
  prefixLen: number;
  onLink: boolean;
  autonomous: boolean;
  validLifetimeSec: number;
  preferredLifetimeSec: number;
  /** The 16-byte prefix, owned by the fields (parse copies into it). */
  prefix: Uint8Array;
}

/** Fresh prefix information: on-link and autonomous, infinite lifetimes, the prefix ::/64. */
export function newNdpPrefixInfo(): NdpPrefixInfo {
  return {
    prefixLen: DEFAULT_PREFIX_LEN,
    onLink: true,
    autonomous: true,
    validLifetimeSec: NDP_INFINITE_LIFETIME,
    preferredLifetimeSec: NDP_INFINITE_LIFETIME,
    prefix: new Uint8Array(PREFIX_BYTES),
  };
}

/**
 * Writes a Source or Target Link-Layer Address option (`type` NdpOption.SourceLinkAddr or
 * TargetLinkAddr) for the MAC `mac` at `p`. Returns the bytes written (8).
 */
export function emitNdpLinkAddrOption(buf: Uint8Array, p: number, type: number, mac: number): number {
  buf[p + OPT_TYPE] = type;
  buf[p + OPT_LENGTH] = NDP_LLA_OPT_LEN / OPT_UNIT;
  writeMac(buf, p + LLA_ADDR, mac);
  return NDP_LLA_OPT_LEN;
}

/** Writes an MTU option (§4.6.4) at `p`. Returns the bytes written (8). */
export function emitNdpMtuOption(buf: Uint8Array, p: number, mtu: number): number {
  buf[p + OPT_TYPE] = NdpOption.Mtu;
  buf[p + OPT_LENGTH] = NDP_MTU_OPT_LEN / OPT_UNIT;
  setBe16(buf, p + MTU_RESERVED, 0);
  setBe32(buf, p + MTU_VALUE, mtu);
  return NDP_MTU_OPT_LEN;
}

/** Writes a Prefix Information option (§4.6.2) at `p`, reserved fields zero. Returns the bytes written (32). */
export function emitNdpPrefixOption(buf: Uint8Array, p: number, pi: NdpPrefixInfo): number {
  buf[p + OPT_TYPE] = NdpOption.PrefixInfo;
  buf[p + OPT_LENGTH] = NDP_PREFIX_OPT_LEN / OPT_UNIT;
  buf[p + PI_PREFIX_LEN] = pi.prefixLen;
  buf[p + PI_FLAGS] = (pi.onLink ? NDP_PREFIX_FLAG_ON_LINK : 0) | (pi.autonomous ? NDP_PREFIX_FLAG_AUTONOMOUS : 0);
  setBe32(buf, p + PI_VALID_LIFETIME, pi.validLifetimeSec);
  setBe32(buf, p + PI_PREFERRED_LIFETIME, pi.preferredLifetimeSec);
  setBe32(buf, p + PI_RESERVED2, 0);
  buf.set(pi.prefix, p + PI_PREFIX);
  return NDP_PREFIX_OPT_LEN;
}
