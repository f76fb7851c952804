/**
 * DHCP over Ethernet: reading a DHCP message out of a whole Ethernet/IPv4/UDP frame, writing one
 * into a new frame, and the drop reasons and counters the client and the server share.
 *
 *   frame ─► Ethernet (IPv4 type, ≤ 1 VLAN tag) ─► IPv4 (header checksum, no fragment)
 *         ─► UDP (the wanted port, checksum when not zero) ─► DHCP (parseDhcp) ─► DhcpFields
 *
 * DHCP is a handful of messages per lease, so this is a cold path: `readDhcpFrame` reuses its
 * views and its `DhcpFields`, but `parseDhcp` allocates for variable-size options and
 * `buildDhcpFrame` returns a new array per message. Neither throws on anything a frame holds:
 * a frame that is not a well-formed DHCP message gives a drop reason, counted by the caller.
 *
 * Not here: IPv4 options on sent frames (none), fragments of received ones (dropped as
 * Unsupported: a DHCP message fits one 576-byte datagram, RFC 2131 §2).
 */

import { WIRE_STATUS_COUNT, WIRE_STATUS_NAMES, WireStatus } from '../wire/status.js';
import { EthernetView, ETH_HEADER_LEN, EtherType } from '../wire/ethernet.js';
import { IPV4_MIN_HEADER_LEN, Ipv4View, IpProto, emitIpv4, newIpv4Fields } from '../wire/ipv4.js';
import { UDP_HEADER_LEN, UdpView, emitUdpV4 } from '../wire/udp.js';
import { DhcpView, dhcpEmitLen, emitDhcp, newDhcpFields, parseDhcp, type DhcpFields } from '../wire/dhcp.js';
import { writeMac, setBe16 } from '../wire/bytes.js';

/** 255.255.255.255: the limited broadcast address (RFC 919) DHCP uses before a client has one. */
export const IPV4_BROADCAST = 0xffff_ffff;
const ETH_DST = 0;
const ETH_SRC = 6;
const ETH_TYPE = 12;
/** TTL of sent datagrams: what Linux and busybox use. */
const DHCP_TTL = 64;

/**
 * Why a DHCP engine dropped a frame. 0-11 are WireStatus codes (the frame failed a header
 * check for that reason); the engine's own reasons follow. Counted, never thrown.
 */
export const DhcpDrop = {
  /** Not IPv4/UDP to the DHCP port this engine listens on (frames a hub floods to everyone). */
  NotDhcp: WIRE_STATUS_COUNT,
  /** Addressed (Ethernet or IP destination) to another host. */
  NotForUs: WIRE_STATUS_COUNT + 1,
  /** BOOTREPLY at a server or BOOTREQUEST at a client. */
  WrongOp: WIRE_STATUS_COUNT + 2,
  /** No option 53, or a message type this side does not take (or not in this state). */
  UnexpectedType: WIRE_STATUS_COUNT + 3,
  /** A reply whose xid is not the client's current transaction. */
  WrongXid: WIRE_STATUS_COUNT + 4,
  /** A reply whose chaddr is not the client's MAC. */
  WrongChaddr: WIRE_STATUS_COUNT + 5,
  /** From (or, in a REQUEST, choosing) a server other than the one in the exchange. */
  OtherServer: WIRE_STATUS_COUNT + 6,
  /** An option the message must carry is missing (server id in an OFFER, lease time in an ACK). */
  MissingOption: WIRE_STATUS_COUNT + 7,
  /** An address that cannot be right (yiaddr 0 or broadcast, a mask that is not contiguous). */
  BadAddress: WIRE_STATUS_COUNT + 8,
  /** No free address in the pool: no OFFER. */
  PoolExhausted: WIRE_STATUS_COUNT + 9,
  /** The lease table is full and nothing in it has expired. */
  TableFull: WIRE_STATUS_COUNT + 10,
  /** INIT-REBOOT or RELEASE from a client the server has no binding for: it stays silent. */
  UnknownClient: WIRE_STATUS_COUNT + 11,
  /** The engine is stopped or closed. */
  Closed: WIRE_STATUS_COUNT + 12,
} as const;
export type DhcpDrop = number;
export const DHCP_DROP_COUNT = WIRE_STATUS_COUNT + 13;

/** Display names, indexed by reason (WireStatus names first). */
export const DHCP_DROP_NAMES: readonly string[] = [
  ...WIRE_STATUS_NAMES,
  'not-dhcp',
  'not-for-us',
  'wrong-op',
  'unexpected-type',
  'wrong-xid',
  'wrong-chaddr',
  'other-server',
  'missing-option',
  'bad-address',
  'pool-exhausted',
  'table-full',
  'unknown-client',
  'closed',
];

/** Names of DHCP message types (option 53), indexed by type; 0 and unknown types are 'other'. */
export const DHCP_TYPE_NAMES: readonly string[] = ['other', 'discover', 'offer', 'request', 'decline', 'ack', 'nak', 'release', 'inform'];
const TYPE_SLOTS = DHCP_TYPE_NAMES.length;

/**
 * Counters of a DHCP engine: messages received and sent by type, drops by reason. A Float64Array
 * underneath, so counting never changes a shape (stats.ts does the same for ports).
 */
export class DhcpCounters {
  readonly rxByType = new Float64Array(TYPE_SLOTS);
  readonly txByType = new Float64Array(TYPE_SLOTS);
  readonly drops = new Float64Array(DHCP_DROP_COUNT);

  rx(type: number): void {
    this.rxByType[type > 0 && type < TYPE_SLOTS ? type : 0]!++;
  }
  tx(type: number): void {
    this.txByType[type > 0 && type < TYPE_SLOTS ? type : 0]!++;
  }
  drop(reason: number): void {
    this.drops[reason]!++;
  }
  dropsOf(reason: number): number {
    return this.drops[reason]!;
  }

  /** The nonzero counters by name (cold path). */
  snapshot(): DhcpCounterStats {
    const named = (a: Float64Array, names: readonly string[]): Record<string, number> => {
      const out: Record<string, number> = {};
      for (let i = 0; i < a.length; i++) if (a[i]! > 0) out[names[i]!] = a[i]!;
      return out;
    };
    let dropped = 0;
    for (const n of this.drops) dropped += n;
    return {
      rx: named(this.rxByType, DHCP_TYPE_NAMES),
      tx: named(this.txByType, DHCP_TYPE_NAMES),
      dropped,
      drops: named(this.drops, DHCP_DROP_NAMES),
    };
  }
}

/** Messages by type name ('discover', 'offer', ...) and drops by reason name; zero counts left out. */
export interface DhcpCounterStats {
  rx: Record<string, number>;
  tx: Record<string, number>;
  dropped: number;
  drops: Record<string, number>;
}

/**
 * Reads DHCP messages out of whole frames. One per engine; not reentrant. After `read` returns
 * Ok, `fields` holds the message and the addressing fields below describe the frame it came in;
 * they stay valid until the next `read`.
 */
export class DhcpFrameReader {
  readonly fields: DhcpFields = newDhcpFields();
  ethSrc = 0;
  ethDst = 0;
  ipSrc = 0;
  ipDst = 0;
  srcPort = 0;
  private readonly eth = new EthernetView();
  private readonly ip = new Ipv4View();
  private readonly udp = new UdpView();
  private readonly dhcp = new DhcpView();

  /**
   * Parses `frame` as a DHCP message sent to UDP port `dstPort`. Returns WireStatus.Ok (0) or a
   * DhcpDrop reason. Checks the IPv4 header checksum and, when it is not zero, the UDP one.
   */
  read(frame: Uint8Array, dstPort: number): number {
    const eth = this.eth.reset(frame, 0, frame.length);
    if (eth.check() !== WireStatus.Ok || eth.etherType !== EtherType.IPv4) return DhcpDrop.NotDhcp;
    const ipOff = eth.payloadOff;
    const ip = this.ip.reset(frame, ipOff, frame.length - ipOff);
    let st: number = ip.check();
    if (st !== WireStatus.Ok) return st;
    if (ip.protocol !== IpProto.UDP) return DhcpDrop.NotDhcp;
    if (!ip.verifyChecksum()) return WireStatus.BadChecksum;
    if (ip.isFragment) return WireStatus.Unsupported;
    const udpOff = ipOff + ip.headerLen;
    const udp = this.udp.reset(frame, udpOff, ip.payloadLen);
    st = udp.check();
    if (st !== WireStatus.Ok) return st;
    if (udp.dstPort !== dstPort) return DhcpDrop.NotDhcp;
    if (!udp.verifyChecksumV4(ip.src, ip.dst)) return WireStatus.BadChecksum;
    st = parseDhcp(this.dhcp.reset(frame, udp.payloadOff, udp.payloadLen), this.fields);
    if (st !== WireStatus.Ok) return st;
    this.ethSrc = eth.srcMAC;
    this.ethDst = eth.dstMAC;
    this.ipSrc = ip.src;
    this.ipDst = ip.dst;
    this.srcPort = udp.srcPort;
    return WireStatus.Ok;
  }
}

/** Where a built frame goes. Addresses as numbers: MACs 48-bit, IPv4 u32. */
export interface DhcpFrameAddrs {
  ethSrc: number;
  ethDst: number;
  ipSrc: number;
  ipDst: number;
  srcPort: number;
  dstPort: number;
  /** IPv4 identification. */
  ident: number;
}

const ipFields = newIpv4Fields();
const udpFields = { srcPort: 0, dstPort: 0, payloadLen: 0 };

/**
 * A new frame carrying `f`: Ethernet II, IPv4 (TTL 64, DF clear, header checksum), UDP with
 * its checksum filled, then the DHCP message (at least 300 bytes, BOOTP_MIN_LEN).
 * @throws {PktRangeError | PktTypeError} only when `f` itself does not fit (see `dhcpEmitLen`):
 *   engines validate what they put in `f` at configuration, so a frame never causes this.
 */
export function buildDhcpFrame(f: DhcpFields, a: DhcpFrameAddrs): Uint8Array {
  const dhcpLen = dhcpEmitLen(f);
  const ipOff = ETH_HEADER_LEN;
  const udpOff = ipOff + IPV4_MIN_HEADER_LEN;
  const dhcpOff = udpOff + UDP_HEADER_LEN;
  const out = new Uint8Array(dhcpOff + dhcpLen);
  writeMac(out, ETH_DST, a.ethDst);
  writeMac(out, ETH_SRC, a.ethSrc);
  setBe16(out, ETH_TYPE, EtherType.IPv4);
  emitDhcp(f, out, dhcpOff);
  udpFields.srcPort = a.srcPort;
  udpFields.dstPort = a.dstPort;
  udpFields.payloadLen = dhcpLen;
  emitUdpV4(udpFields, out, udpOff, a.ipSrc, a.ipDst);
  ipFields.src = a.ipSrc;
  ipFields.dst = a.ipDst;
  ipFields.protocol = IpProto.UDP;
  ipFields.ttl = DHCP_TTL;
  ipFields.payloadLen = UDP_HEADER_LEN + dhcpLen;
  ipFields.ident = a.ident & 0xffff;
  ipFields.dontFrag = false;
  emitIpv4(ipFields, out, ipOff);
  return out;
}

/** The prefix length of a contiguous mask, or -1 when the mask has a hole (255.0.255.0). */
export function maskToPrefixLen(mask: number): number {
  const m = mask >>> 0;
  const inv = ~m >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1;
  return Math.clz32(inv);
}

/** The mask of a prefix length in [0, 32], as a u32. */
export function prefixLenToMask(len: number): number {
  return len === 0 ? 0 : (0xffff_ffff << (32 - len)) >>> 0;
}
