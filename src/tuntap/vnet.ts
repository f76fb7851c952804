/**
 * The virtio-net header on a TUN (IFF_VNET_HDR) and its offloads: the `vnetHdr` option of
 * `Tun.open`, `Tun.attach` and `attachTun`, and, for engines that take frames with the header
 * (`rx: 'raw'`), a reader of the header's fields.
 *
 * With the header and the TSO offload, the kernel stops cutting TCP into MTU-sized packets for
 * the TUN: it hands over GSO super-packets of up to 64 KiB, with the TCP/UDP checksum left
 * partial (VIRTIO_NET_HDR_F_NEEDS_CSUM: only the pseudo-header sum is in place), and it accepts
 * super-packets the same way, segmenting them itself. One read and one write then move up to 44
 * MSS worth of data instead of one: that is the gain (docs/BENCHMARKS.md, ## TUN, the TCP rows).
 *
 * What reads deliver (`rx`):
 * - 'segment' (default): plain IP packets, as without the header. The addon completes partial
 *   checksums in place and cuts super-packets into MSS-sized segments (IPv4 length, ID and
 *   header checksum, IPv6 payload length, TCP sequence numbers and flags, TCP/UDP checksums
 *   fixed as a NIC's TSO does), one per slot, with no allocation. Sends are plain packets too
 *   (the addon puts a blank header before each). For any L3 consumer; the kernel still saves its
 *   segmentation work and the consumer gets no packet above the MTU.
 * - 'raw': each frame is the header followed by the packet exactly as the kernel wrote it,
 *   super-packets and partial checksums included, and `send` takes frames of the same form
 *   (a blank header = a plain, checksummed packet). For engines that can carry super-packets on:
 *   a relay to another TUN with the header, or a TCP engine that understands them. Read the
 *   header with `readVnetHdr`. Standalone `Tun` only: a dataplane engine expects plain packets.
 *
 * Not supported: the header on TAP devices, UFO (IP fragmentation offload; the kernel no longer
 * offers it), big-endian hosts.
 */

import { ConfigError, PktRangeError, PktTypeError } from '../errors.js';

/** linux/if_tun.h TUNSETOFFLOAD bits. */
export const TunOffload = {
  CSUM: 0x01,
  TSO4: 0x02,
  TSO6: 0x04,
  TSO_ECN: 0x08,
  USO4: 0x20,
  USO6: 0x40,
} as const;

/** The `vnetHdr` option in full (`true` is `{}`: every default). */
export interface VnetHdrOptions {
  /** What reads deliver and sends take: 'segment' (plain packets, default) or 'raw' (header + packet as is). */
  rx?: 'segment' | 'raw';
  /** 10 (struct virtio_net_hdr, default) or 12 (virtio_net_hdr_v1). */
  headerLen?: 10 | 12;
  /** The offloads to ask the kernel for. Default: checksum and TSO on, USO off. */
  offloads?: {
    /** Partial checksums (TUN_F_CSUM); needed by the others. Default true. */
    csum?: boolean;
    /** TCP segmentation offload, IPv4 and IPv6, with ECN (TUN_F_TSO4/6, TSO_ECN). Default true. */
    tso?: boolean;
    /** UDP segmentation offload (TUN_F_USO4/6; Linux 6.2 and later, silently left out before). Default false. */
    uso?: boolean;
  };
}

/** A checked `vnetHdr` option. */
export interface VnetConfig {
  rx: 'segment' | 'raw';
  headerLen: 10 | 12;
  /** TunOffload bits to ask for. */
  offloads: number;
}

const KEYS = new Set(['rx', 'headerLen', 'offloads']);
const OFFLOAD_KEYS = new Set(['csum', 'tso', 'uso']);

function flag(what: string, o: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = o[key] ?? dflt;
  if (typeof v !== 'boolean') throw new PktTypeError(`${what}: vnetHdr.offloads.${key} must be a boolean, got ${typeof v}`);
  return v;
}

/**
 * Checks a `vnetHdr` option; null when it is absent or false.
 * @throws {PktTypeError} ERR_PKT_INVALID_ARG on a wrong type, an unknown key or `rx` value;
 *   {PktRangeError} ERR_PKT_OUT_OF_RANGE on a header length other than 10 or 12;
 *   {ConfigError} ERR_PKT_CONFIG on segmentation offloads without the checksum offload.
 */
export function checkVnetOption(what: string, v: unknown): VnetConfig | null {
  if (v === undefined || v === false) return null;
  if (v === true) return { rx: 'segment', headerLen: 10, offloads: TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6 | TunOffload.TSO_ECN };
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new PktTypeError(`${what}: vnetHdr must be a boolean or an object, got ${v === null ? 'null' : typeof v}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw new PktTypeError(`${what}: unknown vnetHdr option ${JSON.stringify(k)}`);
  const rx = o['rx'] ?? 'segment';
  if (rx !== 'segment' && rx !== 'raw') throw new PktTypeError(`${what}: vnetHdr.rx must be 'segment' or 'raw', got ${JSON.stringify(rx)}`);
  const headerLen = o['headerLen'] ?? 10;
  if (headerLen !== 10 && headerLen !== 12) throw new PktRangeError(`${what}: vnetHdr.headerLen must be 10 or 12, got ${String(headerLen)}`);
  const off = o['offloads'] ?? {};
  if (off === null || typeof off !== 'object' || Array.isArray(off)) throw new PktTypeError(`${what}: vnetHdr.offloads must be an object`);
  const oo = off as Record<string, unknown>;
  for (const k of Object.keys(oo)) if (!OFFLOAD_KEYS.has(k)) throw new PktTypeError(`${what}: unknown vnetHdr.offloads option ${JSON.stringify(k)}`);
  const csum = flag(what, oo, 'csum', true);
  const tso = flag(what, oo, 'tso', true);
  const uso = flag(what, oo, 'uso', false);
  if ((tso || uso) && !csum) throw new ConfigError(`${what}: vnetHdr.offloads: ${tso ? 'tso' : 'uso'} needs csum (the kernel refuses segmentation offloads without the checksum offload)`);
  let offloads = csum ? TunOffload.CSUM : 0;
  if (tso) offloads |= TunOffload.TSO4 | TunOffload.TSO6 | TunOffload.TSO_ECN;
  if (uso) offloads |= TunOffload.USO4 | TunOffload.USO6;
  return { rx, headerLen, offloads };
}

/** Names of the granted offload bits (for display). */
export function offloadNames(bits: number): string[] {
  return Object.entries(TunOffload)
    .filter(([, b]) => (bits & b) !== 0)
    .map(([k]) => k.toLowerCase());
}

// ---- the header itself (virtio 1.2 §5.1.6), for frames read with rx: 'raw'

/** `flags`: the checksum at csumStart + csumOffset holds only the pseudo-header sum. */
export const VNET_F_NEEDS_CSUM = 1;
/** `flags`: the kernel verified the checksum. */
export const VNET_F_DATA_VALID = 2;
/** `gsoType` values (the ECN bit, 0x80, or'ed in). */
export const VnetGso = { NONE: 0, TCPV4: 1, UDP: 3, TCPV6: 4, UDP_L4: 5, ECN: 0x80 } as const;

/** A virtio_net_hdr's fields (little-endian on the wire). */
export interface VnetHdrFields {
  flags: number;
  gsoType: number;
  /** Length of the headers (a hint). */
  hdrLen: number;
  /** Payload bytes per segment of a super-packet (the MSS). */
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

/** A blank VnetHdrFields to pass to `readVnetHdr` again and again. */
export function newVnetHdrFields(): VnetHdrFields {
  return { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
}

/** Reads the header at the start of `frame` (at least 10 bytes) into `out`; allocates nothing. */
export function readVnetHdr(frame: Uint8Array, out: VnetHdrFields): VnetHdrFields {
  out.flags = frame[0]!;
  out.gsoType = frame[1]!;
  out.hdrLen = frame[2]! | (frame[3]! << 8);
  out.gsoSize = frame[4]! | (frame[5]! << 8);
  out.csumStart = frame[6]! | (frame[7]! << 8);
  out.csumOffset = frame[8]! | (frame[9]! << 8);
  return out;
}
