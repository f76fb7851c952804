/**
 * IPv6 Neighbor Discovery messages (RFC 4861 §4) over Ethernet: Router Solicitation (§4.1),
 * Router Advertisement (§4.2), Neighbor Solicitation (§4.3), Neighbor Advertisement (§4.4) and
 * Redirect (§4.5), with the options they carry (§4.6, read and written by ndp-options.ts), and
 * two address helpers: the solicited-node multicast address (RFC 4291 §2.7.1) and the Ethernet
 * MAC of an IPv6 multicast address (RFC 2464 §7).
 *
 * The messages are ICMPv6 (type 133 to 137) after the 4-byte ICMPv6 header:
 *
 *   RS  (133): Reserved (32)                                             | options
 *   RA  (134): Cur Hop Limit (8) | M O flags (8) | Router Lifetime (16)
 *              Reachable Time (32) | Retrans Timer (32)                  | options
 *   NS  (135): Reserved (32) | Target Address (128)                      | options
 *   NA  (136): R S O flags (3) + Reserved (29) | Target Address (128)    | options
 *   Redirect (137): Reserved (32) | Target (128) | Destination (128)     | options
 *
 *   option:   Type (8) | Length (8, in units of 8 octets, never 0) | data
 *
 * `NdpView` reads and writes any of the five in place; `NdpFields` is the parsed value, filled by
 * `parseNdp` and written by `emitNdp`. `NdpOptionCursor` (ndp-options.ts) walks the options.
 * After `check()` returns Ok, the accessors of the message's own type read in bounds (those of
 * another type may not: check `type` first) and every option is well formed, so that a walk with
 * the cursor cannot fail. RFC 4861 §4.6: "Nodes MUST silently discard an ND packet that contains
 * an option with length zero"; `check()` walks the options up front so that an engine never acts
 * on the first options of a packet that a later one makes invalid.
 *
 * Checksums cover the IPv6 pseudo-header (RFC 4443 §2.3): the API takes the buffer and offsets of
 * the two 16-byte addresses, normally the packet's own IPv6 header.
 *
 * The validity checks of §6.1, §7.1 and §8.1 that need the IPv6 header are the caller's: Hop
 * Limit 255 (NDP_HOP_LIMIT, proof the packet was not forwarded), a link-local source for RA and
 * Redirect, no SLLA from the unspecified source and a solicited-node destination for DAD, and
 * Solicited clear in an NA sent to a multicast address. `check()` does those the message alone
 * decides: code 0, a length that holds the fixed part, a non-multicast Target (and Destination).
 *
 * Not handled here: link layers other than Ethernet (Link-Layer Address options must be one
 * 8-octet unit, RFC 2464 §6), SEND (RFC 3971), the Nonce (RFC 7527), Route Information
 * (RFC 4191), RDNSS/DNSSL (RFC 8106) and other options beyond reading their type and bytes with
 * the cursor, the router preference and other RA flags beyond M and O (read `raFlags`), and
 * emitting the Redirected Header option. `parseNdp` keeps at most NDP_MAX_PREFIXES Prefix
 * Information options; an engine that must take more walks the options with the cursor.
 */

import { IcmpHeaderView } from './icmp-header.js';
import { be16, be32, setBe16, setBe32 } from './bytes.js';
import { transportChecksumV6 } from './checksum.js';
import { IpProto } from './ipv4.js';
import {
  NDP_LLA_OPT_LEN,
  NDP_MTU_OPT_LEN,
  NDP_PREFIX_OPT_LEN,
  NdpOption,
  NdpOptionCursor,
  emitNdpLinkAddrOption,
  emitNdpMtuOption,
  emitNdpPrefixOption,
  newNdpPrefixInfo,
  type NdpPrefixInfo,
} from './ndp-options.js';
import { WireStatus, wireFormatError } from './status.js';

// Message fields, from the start of the ICMPv6 header.
const TYPE = 0;
const CODE = 1;
const CSUM = 2;
const RESERVED = 4;
const RS_OPTIONS = 8;
const RA_CUR_HOP_LIMIT = 4;
const RA_FLAGS = 5;
const RA_ROUTER_LIFETIME = 6;
const RA_REACHABLE_TIME = 8;
const RA_RETRANS_TIMER = 12;
const RA_OPTIONS = 16;
const NA_FLAGS = 4;
const TARGET = 8;
const NS_OPTIONS = 24;
const REDIRECT_DEST = 24;
const REDIRECT_OPTIONS = 40;
/** The smallest ND message: an RS without options. */
const MIN_MESSAGE_LEN = RS_OPTIONS;
const IPV6_ADDR_LEN = 16;
const MULTICAST_PREFIX = 0xff;

// RFC 4291 §2.7.1: ff02:0:0:0:0:1:ffXX:XXXX. The first 13 bytes are fixed, written as three
// words and a byte; the last 3 are the address's.
const SNM_WORD0 = 0xff02_0000;
const SNM_WORD1 = 0;
const SNM_WORD2 = 0x0000_0001;
const SNM_WORD0_OFF = 0;
const SNM_WORD1_OFF = 4;
const SNM_WORD2_OFF = 8;
const SNM_BYTE12 = 0xff;
const SNM_BYTE12_OFF = 12;
const SNM_LOW0 = 13;
const SNM_LOW1 = 14;
const SNM_LOW2 = 15;
// RFC 2464 §7: 33:33 and the last four octets of the multicast address.
const MCAST_MAC_BASE = 0x3333_0000_0000;
const MCAST_MAC_LOW_WORD = 12;

/** ICMPv6 types of the Neighbor Discovery messages. */
export const NdpType = {
  RouterSolicitation: 133,
  RouterAdvertisement: 134,
  NeighborSolicitation: 135,
  NeighborAdvertisement: 136,
  Redirect: 137,
} as const;

/** RFC 4861 §6.1, §7.1, §8.1: ND packets are sent, and must arrive, with Hop Limit 255. */
export const NDP_HOP_LIMIT = 255;
/** RA flags byte: Managed address configuration and Other configuration (§4.2). */
export const NDP_RA_FLAG_MANAGED = 0x80;
export const NDP_RA_FLAG_OTHER = 0x40;
/** NA flags, bits of the first byte of the flags word (§4.4). */
export const NDP_NA_FLAG_ROUTER = 0x80;
export const NDP_NA_FLAG_SOLICITED = 0x40;
export const NDP_NA_FLAG_OVERRIDE = 0x20;
/** In NdpFields: an option that is absent (a MAC or MTU is never negative). */
export const NDP_ABSENT = -1;
/** Prefix Information options `parseNdp` keeps (see the file header). */
export const NDP_MAX_PREFIXES = 8;

/** Length of the fixed part of an ND message of `type`, or 0 when `type` is not ND. */
function fixedLen(type: number): number {
  switch (type) {
    case NdpType.RouterSolicitation:
      return RS_OPTIONS;
    case NdpType.RouterAdvertisement:
      return RA_OPTIONS;
    case NdpType.NeighborSolicitation:
    case NdpType.NeighborAdvertisement:
      return NS_OPTIONS;
    case NdpType.Redirect:
      return REDIRECT_OPTIONS;
    default:
      return 0;
  }
}

/** True for the messages with a Target Address: NS, NA and Redirect. */
function hasTarget(type: number): boolean {
  return type === NdpType.NeighborSolicitation || type === NdpType.NeighborAdvertisement || type === NdpType.Redirect;
}

const checkWalker = new NdpOptionCursor();

/** A reusable view over an ND message in place. Not safe to share across reentrant calls. */
export class NdpView extends IcmpHeaderView {
  /**
   * The one check at the trust boundary: an ND type (else Unsupported), the fixed part present
   * (Truncated), code 0 and a non-multicast Target and Destination (BadValue), and well-formed
   * options (BadOption). After Ok the accessors of this type read in bounds.
   */
  check(): WireStatus {
    if (this.len < MIN_MESSAGE_LEN) return WireStatus.Truncated;
    const b = this.buf;
    const o = this.off;
    const type = b[o + TYPE]!;
    const fixed = fixedLen(type);
    if (fixed === 0) return WireStatus.Unsupported;
    if (this.len < fixed) return WireStatus.Truncated;
    if (b[o + CODE] !== 0) return WireStatus.BadValue;
    if (hasTarget(type) && b[o + TARGET] === MULTICAST_PREFIX) return WireStatus.BadValue;
    if (type === NdpType.Redirect && b[o + REDIRECT_DEST] === MULTICAST_PREFIX) return WireStatus.BadValue;
    const cur = checkWalker.reset(b, o + fixed, this.len - fixed);
    while (cur.next());
    return cur.status;
  }

  /** RA: the hop limit hosts should use (0: unspecified). */
  get curHopLimit(): number {
    return this.buf[this.off + RA_CUR_HOP_LIMIT]!;
  }
  set curHopLimit(v: number) {
    this.buf[this.off + RA_CUR_HOP_LIMIT] = v;
  }
  /** RA: the whole flags byte (M, O, and later flags such as RFC 4191's preference). */
  get raFlags(): number {
    return this.buf[this.off + RA_FLAGS]!;
  }
  set raFlags(v: number) {
    this.buf[this.off + RA_FLAGS] = v;
  }
  /** RA: the M flag (addresses from DHCPv6). */
  get managed(): boolean {
    return (this.buf[this.off + RA_FLAGS]! & NDP_RA_FLAG_MANAGED) !== 0;
  }
  set managed(v: boolean) {
    this.setBit(RA_FLAGS, NDP_RA_FLAG_MANAGED, v);
  }
  /** RA: the O flag (other configuration from DHCPv6). */
  get other(): boolean {
    return (this.buf[this.off + RA_FLAGS]! & NDP_RA_FLAG_OTHER) !== 0;
  }
  set other(v: boolean) {
    this.setBit(RA_FLAGS, NDP_RA_FLAG_OTHER, v);
  }
  /** RA: lifetime as a default router, in seconds (0: not a default router). */
  get routerLifetimeSec(): number {
    return be16(this.buf, this.off + RA_ROUTER_LIFETIME);
  }
  set routerLifetimeSec(v: number) {
    setBe16(this.buf, this.off + RA_ROUTER_LIFETIME, v);
  }
  /** RA: reachable time in milliseconds (0: unspecified). */
  get reachableTimeMs(): number {
    return be32(this.buf, this.off + RA_REACHABLE_TIME);
  }
  set reachableTimeMs(v: number) {
    setBe32(this.buf, this.off + RA_REACHABLE_TIME, v);
  }
  /** RA: time between retransmitted NS, in milliseconds (0: unspecified). */
  get retransTimerMs(): number {
    return be32(this.buf, this.off + RA_RETRANS_TIMER);
  }
  set retransTimerMs(v: number) {
    setBe32(this.buf, this.off + RA_RETRANS_TIMER, v);
  }
  /** NA: the R flag (the sender is a router). */
  get router(): boolean {
    return (this.buf[this.off + NA_FLAGS]! & NDP_NA_FLAG_ROUTER) !== 0;
  }
  set router(v: boolean) {
    this.setBit(NA_FLAGS, NDP_NA_FLAG_ROUTER, v);
  }
  /** NA: the S flag (an answer to an NS). */
  get solicited(): boolean {
    return (this.buf[this.off + NA_FLAGS]! & NDP_NA_FLAG_SOLICITED) !== 0;
  }
  set solicited(v: boolean) {
    this.setBit(NA_FLAGS, NDP_NA_FLAG_SOLICITED, v);
  }
  /** NA: the O flag (override an existing cache entry). */
  get override(): boolean {
    return (this.buf[this.off + NA_FLAGS]! & NDP_NA_FLAG_OVERRIDE) !== 0;
  }
  set override(v: boolean) {
    this.setBit(NA_FLAGS, NDP_NA_FLAG_OVERRIDE, v);
  }
  /** NS, NA, Redirect: offset (in `buf`) of the 16-byte Target Address. */
  get targetOff(): number {
    return this.off + TARGET;
  }
  /** Redirect: offset (in `buf`) of the 16-byte Destination Address. */
  get destOff(): number {
    return this.off + REDIRECT_DEST;
  }
  /** Offset (in `buf`) of the options, after this type's fixed part. */
  get optionsOff(): number {
    return this.off + fixedLen(this.buf[this.off + TYPE]!);
  }
  /** Length of the options in bytes. */
  get optionsLen(): number {
    return this.len - fixedLen(this.buf[this.off + TYPE]!);
  }
  /** Resets `cur` over this message's options and returns it. */
  options(cur: NdpOptionCursor): NdpOptionCursor {
    const fixed = fixedLen(this.buf[this.off + TYPE]!);
    return cur.reset(this.buf, this.off + fixed, this.len - fixed);
  }

  /**
   * True when the checksum verifies over the pseudo-header whose 16-byte source and destination
   * addresses are at `srcOff` and `dstOff` in `addrBuf`.
   */
  verifyChecksum(addrBuf: Uint8Array, srcOff: number, dstOff: number): boolean {
    return transportChecksumV6(IpProto.ICMPv6, addrBuf, srcOff, dstOff, this.buf, this.off, this.len) === 0;
  }
  /** Computes and stores the checksum over the pseudo-header and the whole message. */
  fillChecksum(addrBuf: Uint8Array, srcOff: number, dstOff: number): void {
    setBe16(this.buf, this.off + CSUM, 0);
    setBe16(
      this.buf,
      this.off + CSUM,
      transportChecksumV6(IpProto.ICMPv6, addrBuf, srcOff, dstOff, this.buf, this.off, this.len),
    );
  }

  private setBit(field: number, bit: number, v: boolean): void {
    const i = this.off + field;
    this.buf[i] = v ? this.buf[i]! | bit : this.buf[i]! & ~bit;
  }
}

/**
 * The parsed value of an ND message (smoltcp's `NdiscRepr`, flattened): the fields a type does
 * not use keep their defaults. Options appear as values; a MAC or MTU whose option is absent is
 * NDP_ABSENT. The address arrays are owned by the fields and reused by every parse.
 */
export interface NdpFields {
  /** One of NdpType. */
  type: number;
  /** RA. */
  curHopLimit: number;
  managed: boolean;
  other: boolean;
  routerLifetimeSec: number;
  reachableTimeMs: number;
  retransTimerMs: number;
  /** NA. */
  router: boolean;
  solicited: boolean;
  override: boolean;
  /** NS, NA, Redirect: the Target Address (16 bytes). */
  target: Uint8Array;
  /** Redirect: the Destination Address (16 bytes). */
  dest: Uint8Array;
  /** Source Link-Layer Address option (RS, RA, NS): a MAC, or NDP_ABSENT. */
  srcMac: number;
  /** Target Link-Layer Address option (NA, Redirect): a MAC, or NDP_ABSENT. */
  targetMac: number;
  /** MTU option (RA): bytes, or NDP_ABSENT. */
  mtu: number;
  /** Prefix Information options (RA): the first `prefixCount` entries of `prefixes` are in use. */
  prefixCount: number;
  /** NDP_MAX_PREFIXES preallocated entries. */
  prefixes: NdpPrefixInfo[];
}

/** Fresh fields: a Neighbor Solicitation for ::, no options, NDP_MAX_PREFIXES spare prefixes. */
export function newNdpFields(): NdpFields {
  const prefixes: NdpPrefixInfo[] = [];
  for (let i = 0; i < NDP_MAX_PREFIXES; i++) prefixes.push(newNdpPrefixInfo());
  return {
    type: NdpType.NeighborSolicitation,
    curHopLimit: 0,
    managed: false,
    other: false,
    routerLifetimeSec: 0,
    reachableTimeMs: 0,
    retransTimerMs: 0,
    router: false,
    solicited: false,
    override: false,
    target: new Uint8Array(IPV6_ADDR_LEN),
    dest: new Uint8Array(IPV6_ADDR_LEN),
    srcMac: NDP_ABSENT,
    targetMac: NDP_ABSENT,
    mtu: NDP_ABSENT,
    prefixCount: 0,
    prefixes,
  };
}

function copy16(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
  for (let i = 0; i < IPV6_ADDR_LEN; i++) dst[dstOff + i] = src[srcOff + i]!;
}

const parseWalker = new NdpOptionCursor();

/**
 * Checks `v` and fills `out`. Allocates nothing. Of repeated Link-Layer Address or MTU options
 * the first counts (as Linux does); unknown options are skipped (§4.6: "silently ignore"); more
 * than NDP_MAX_PREFIXES Prefix Information options give TooManyHeaders (with `out` holding the
 * first NDP_MAX_PREFIXES). To verify the checksum, call `v.verifyChecksum(...)`, which needs the
 * addresses.
 */
export function parseNdp(v: NdpView, out: NdpFields): WireStatus {
  const st = v.check();
  if (st !== WireStatus.Ok) return st;
  const type = v.type;
  const ra = type === NdpType.RouterAdvertisement;
  const na = type === NdpType.NeighborAdvertisement;
  out.type = type;
  out.curHopLimit = ra ? v.curHopLimit : 0;
  out.managed = ra && v.managed;
  out.other = ra && v.other;
  out.routerLifetimeSec = ra ? v.routerLifetimeSec : 0;
  out.reachableTimeMs = ra ? v.reachableTimeMs : 0;
  out.retransTimerMs = ra ? v.retransTimerMs : 0;
  out.router = na && v.router;
  out.solicited = na && v.solicited;
  out.override = na && v.override;
  if (hasTarget(type)) copy16(v.buf, v.targetOff, out.target, 0);
  else out.target.fill(0);
  if (type === NdpType.Redirect) copy16(v.buf, v.destOff, out.dest, 0);
  else out.dest.fill(0);
  out.srcMac = NDP_ABSENT;
  out.targetMac = NDP_ABSENT;
  out.mtu = NDP_ABSENT;
  out.prefixCount = 0;
  const cur = v.options(parseWalker);
  while (cur.next()) {
    switch (cur.type) {
      case NdpOption.SourceLinkAddr:
        if (out.srcMac === NDP_ABSENT) out.srcMac = cur.linkAddr;
        break;
      case NdpOption.TargetLinkAddr:
        if (out.targetMac === NDP_ABSENT) out.targetMac = cur.linkAddr;
        break;
      case NdpOption.Mtu:
        if (out.mtu === NDP_ABSENT) out.mtu = cur.mtu;
        break;
      case NdpOption.PrefixInfo: {
        if (out.prefixCount === NDP_MAX_PREFIXES) return WireStatus.TooManyHeaders;
        const p = out.prefixes[out.prefixCount++]!;
        p.prefixLen = cur.prefixLen;
        p.onLink = cur.onLink;
        p.autonomous = cur.autonomous;
        p.validLifetimeSec = cur.validLifetimeSec;
        p.preferredLifetimeSec = cur.preferredLifetimeSec;
        copy16(cur.buf, cur.prefixOff, p.prefix, 0);
        break;
      }
      default:
        break;
    }
  }
  return WireStatus.Ok;
}

/**
 * Bytes `emitNdp` writes for `f`: the fixed part of `f.type` and the options it carries (SLLA
 * for RS, RA and NS; TLLA for NA and Redirect; MTU and prefixes for RA). 0 when `f.type` is not
 * an ND type.
 */
export function ndpEmitLen(f: NdpFields): number {
  const type = f.type;
  const n = fixedLen(type);
  switch (type) {
    case NdpType.RouterAdvertisement:
      return (
        n +
        f.prefixCount * NDP_PREFIX_OPT_LEN +
        (f.mtu !== NDP_ABSENT ? NDP_MTU_OPT_LEN : 0) +
        (f.srcMac !== NDP_ABSENT ? NDP_LLA_OPT_LEN : 0)
      );
    case NdpType.RouterSolicitation:
    case NdpType.NeighborSolicitation:
      return f.srcMac !== NDP_ABSENT ? n + NDP_LLA_OPT_LEN : n;
    case NdpType.NeighborAdvertisement:
    case NdpType.Redirect:
      return f.targetMac !== NDP_ABSENT ? n + NDP_LLA_OPT_LEN : n;
    default:
      return 0;
  }
}

/**
 * Writes the message for `f` at `off`, with its options (see `ndpEmitLen`; an RA's in radvd's
 * order: prefixes, MTU, SLLA), reserved bits zero, and the checksum over the pseudo-header whose
 * addresses are at `srcOff` and `dstOff` in `addrBuf`. Returns the bytes written, 0 (writing
 * nothing) when `f.type` is not an ND type. The caller guarantees room and sends it with IPv6
 * Hop Limit NDP_HOP_LIMIT.
 */
export function emitNdp(
  f: NdpFields,
  buf: Uint8Array,
  off: number,
  addrBuf: Uint8Array,
  srcOff: number,
  dstOff: number,
): number {
  const len = ndpEmitLen(f);
  if (len === 0) return 0;
  const type = f.type;
  buf[off + TYPE] = type;
  buf[off + CODE] = 0;
  setBe16(buf, off + CSUM, 0);
  let p = off + fixedLen(type);
  switch (type) {
    case NdpType.RouterSolicitation:
    case NdpType.NeighborSolicitation:
      setBe32(buf, off + RESERVED, 0);
      if (type === NdpType.NeighborSolicitation) buf.set(f.target, off + TARGET);
      if (f.srcMac !== NDP_ABSENT) p += emitNdpLinkAddrOption(buf, p, NdpOption.SourceLinkAddr, f.srcMac);
      break;
    case NdpType.RouterAdvertisement:
      buf[off + RA_CUR_HOP_LIMIT] = f.curHopLimit;
      buf[off + RA_FLAGS] = (f.managed ? NDP_RA_FLAG_MANAGED : 0) | (f.other ? NDP_RA_FLAG_OTHER : 0);
      setBe16(buf, off + RA_ROUTER_LIFETIME, f.routerLifetimeSec);
      setBe32(buf, off + RA_REACHABLE_TIME, f.reachableTimeMs);
      setBe32(buf, off + RA_RETRANS_TIMER, f.retransTimerMs);
      for (let i = 0; i < f.prefixCount; i++) p += emitNdpPrefixOption(buf, p, f.prefixes[i]!);
      if (f.mtu !== NDP_ABSENT) p += emitNdpMtuOption(buf, p, f.mtu);
      if (f.srcMac !== NDP_ABSENT) p += emitNdpLinkAddrOption(buf, p, NdpOption.SourceLinkAddr, f.srcMac);
      break;
    case NdpType.NeighborAdvertisement:
      setBe32(buf, off + RESERVED, 0);
      buf[off + NA_FLAGS] =
        (f.router ? NDP_NA_FLAG_ROUTER : 0) |
        (f.solicited ? NDP_NA_FLAG_SOLICITED : 0) |
        (f.override ? NDP_NA_FLAG_OVERRIDE : 0);
      buf.set(f.target, off + TARGET);
      if (f.targetMac !== NDP_ABSENT) p += emitNdpLinkAddrOption(buf, p, NdpOption.TargetLinkAddr, f.targetMac);
      break;
    default: // Redirect
      setBe32(buf, off + RESERVED, 0);
      buf.set(f.target, off + TARGET);
      buf.set(f.dest, off + REDIRECT_DEST);
      if (f.targetMac !== NDP_ABSENT) p += emitNdpLinkAddrOption(buf, p, NdpOption.TargetLinkAddr, f.targetMac);
      break;
  }
  setBe16(buf, off + CSUM, transportChecksumV6(IpProto.ICMPv6, addrBuf, srcOff, dstOff, buf, off, len));
  return len;
}

/**
 * Writes the solicited-node multicast address of the 16-byte address at `off` in `addr`
 * (RFC 4291 §2.7.1: ff02::1:ff00:0/104 and the address's low 24 bits) to `out` at `outOff`.
 * `out` may be `addr` itself.
 */
export function solicitedNodeMulticast(addr: Uint8Array, off: number, out: Uint8Array, outOff: number): void {
  // Read the low bytes first: `out` may be `addr`.
  const low0 = addr[off + SNM_LOW0]!;
  const low1 = addr[off + SNM_LOW1]!;
  const low2 = addr[off + SNM_LOW2]!;
  setBe32(out, outOff + SNM_WORD0_OFF, SNM_WORD0);
  setBe32(out, outOff + SNM_WORD1_OFF, SNM_WORD1);
  setBe32(out, outOff + SNM_WORD2_OFF, SNM_WORD2);
  out[outOff + SNM_BYTE12_OFF] = SNM_BYTE12;
  out[outOff + SNM_LOW0] = low0;
  out[outOff + SNM_LOW1] = low1;
  out[outOff + SNM_LOW2] = low2;
}

/** RFC 2464 §7: the Ethernet MAC (33:33, then the last four octets) of the IPv6 multicast address at `off`. */
export function ipv6MulticastMac(addr: Uint8Array, off: number): number {
  return MCAST_MAC_BASE + be32(addr, off + MCAST_MAC_LOW_WORD);
}

/**
 * Cold-path convenience: parses an ND message (all of `bytes` from `off`) into new fields.
 * Does not verify the checksum (that needs the IPv6 addresses).
 * @throws {WireFormatError} naming the reason when `bytes` is not a well-formed ND message.
 */
export function decodeNdp(bytes: Uint8Array, off = 0): NdpFields {
  const f = newNdpFields();
  const st = parseNdp(new NdpView().reset(bytes, off), f);
  if (st !== WireStatus.Ok) throw wireFormatError('ndp', st, off);
  return f;
}
