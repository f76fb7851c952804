/**
 * slirp UDP (RFC 768): datagrams from the virtual side of a namespace to their flows. The checks
 * (length, checksum), the flow lookup, and for the first datagram of a 4-tuple the Stack's
 * decision (policy, limits, DNS, ICMP errors: `UdpHost.udpTarget`) and the flow's socket. The flows
 * and their table are in udp-flow.ts; the sockets under them are one `UdpIo` per Stack (`udp`
 * option):
 *
 *   batched (udp-batched.ts; the addon's `udp` feature, the default when it is built): native
 *     sockets without buffers of their own, a tx area flushed per run with sendmmsg, one rx area
 *     per thread with headroom for the headers, one poll per Stack. Nothing allocated per datagram.
 *   dgram (udp-dgram.ts; `udp: 'dgram'`): node:dgram, the compatibility path.
 *
 * Not concurrent: one thread owns the Stack, its flows and their sockets.
 */

import { PktError } from '../errors.js';
import { hasNative, requireNative } from '../native/index.js';
import { be16, be32 } from '../wire/bytes.js';
import { transportChecksumV4, transportChecksumV6 } from '../wire/checksum.js';
import { IpProto } from '../wire/ipv4.js';
import type { PacketBuilder } from './packets.js';
import type { Space } from './space.js';
import { BatchedUdpIo } from './udp-batched.js';
import { DgramUdpIo } from './udp-dgram.js';
import { UdpFlow, UdpTarget, flowHash, type UdpIo, type UdpIoHost } from './udp-flow.js';

// RFC 791 §3.1, RFC 8200 §3, RFC 768 offsets.
const V4_SRC = 12;
const V4_DST = 16;
const V6_SRC = 8;
const V6_DST = 24;
const UDP_HEADER = 8;
const UDP_LEN = 4;
const UDP_CSUM = 6;

/** What the UDP path needs of its Stack: the kernel side's needs, and the decisions on new flows. */
export interface UdpHost extends UdpIoHost {
  /**
   * The first datagram of an unknown 4-tuple (UDP header at `udpOff`, `ulen` bytes, checked):
   * fills `t` with where its flow goes and returns true, or deals with it (DNS forwarding, ICMP
   * errors, drops: counted) and returns false.
   */
  udpTarget(s: Space, p: Uint8Array, family: 4 | 6, ipEnd: number, udpOff: number, ulen: number, t: UdpTarget): boolean;
  /** ICMP Destination Unreachable (host) about `p`: a socket could not be opened. */
  unreachable(s: Space, p: Uint8Array, family: 4 | 6): void;
}

export type UdpMode = 'auto' | 'batched' | 'dgram';

/** The UDP path of a Stack: datagrams from the virtual side to their flows, and the sockets. */
export class SlirpUdp {
  readonly io: UdpIo;
  private readonly host: UdpHost;
  private readonly seed: number;
  private readonly target = new UdpTarget();

  /** @throws {PktError} ERR_PKT_NATIVE_UNAVAILABLE for `batched` without the addon's udp feature. */
  constructor(host: UdpHost, build: PacketBuilder, mode: UdpMode, seed: number) {
    this.host = host;
    this.seed = seed;
    const batched = mode === 'batched' || (mode === 'auto' && hasNative('udp'));
    this.io = batched ? new BatchedUdpIo(host, build, requireNative('slirp batched UDP', 'udp')) : new DgramUdpIo(host, build);
  }

  /** An IPv4 datagram (header length `hl`, `total` bytes) from the virtual side of `s`. */
  input4(s: Space, p: Uint8Array, hl: number, total: number): void {
    const host = this.host;
    const segLen = total - hl;
    if (segLen < UDP_HEADER) return host.drop('badUdp');
    const ulen = be16(p, hl + UDP_LEN);
    if (ulen < UDP_HEADER || ulen > segLen) return host.drop('badUdp');
    // Addresses as int32s: a u32 above 2^31 passed to a call V8 did not inline is boxed.
    if (be16(p, hl + UDP_CSUM) !== 0 && transportChecksumV4(IpProto.UDP, be32(p, V4_SRC) | 0, be32(p, V4_DST) | 0, p, hl, ulen) !== 0) return host.drop('badChecksum');
    const sport = be16(p, hl);
    const dport = be16(p, hl + 2);
    const key = flowHash(this.seed, p, V4_SRC, V4_DST, 4, sport, dport);
    let f = s.udp.find(key, p, V4_SRC, sport, V4_DST, dport);
    if (f === null) {
      f = this.newFlow(s, key, 4, p, V4_SRC, sport, V4_DST, dport, total, hl, ulen);
      if (f === null) return;
    }
    host.counters.datagramsOut++;
    this.io.send(f, p, hl + UDP_HEADER, ulen - UDP_HEADER);
  }

  /** An IPv6 datagram (UDP header at `off`, the packet ending at `end`). */
  input6(s: Space, p: Uint8Array, off: number, end: number): void {
    const host = this.host;
    const segLen = end - off;
    if (segLen < UDP_HEADER) return host.drop('badUdp');
    const ulen = be16(p, off + UDP_LEN);
    if (ulen < UDP_HEADER || ulen > segLen) return host.drop('badUdp');
    // RFC 8200 §8.1: a zero UDP checksum is invalid over IPv6.
    if (transportChecksumV6(IpProto.UDP, p, V6_SRC, V6_DST, p, off, ulen) !== 0) return host.drop('badChecksum');
    const sport = be16(p, off);
    const dport = be16(p, off + 2);
    const key = flowHash(this.seed, p, V6_SRC, V6_DST, 16, sport, dport);
    let f = s.udp.find(key, p, V6_SRC, sport, V6_DST, dport);
    if (f === null) {
      f = this.newFlow(s, key, 6, p, V6_SRC, sport, V6_DST, dport, end, off, ulen);
      if (f === null) return;
    }
    host.counters.datagramsOut++;
    this.io.send(f, p, off + UDP_HEADER, ulen - UDP_HEADER);
  }

  /** First datagram of a 4-tuple: ask the Stack where it goes, open its socket. Per flow, not per datagram. */
  private newFlow(s: Space, key: number, family: 4 | 6, p: Uint8Array, srcOff: number, sport: number, dstOff: number, dport: number, ipEnd: number, udpOff: number, ulen: number): UdpFlow | null {
    const host = this.host;
    const t = this.target;
    if (!host.udpTarget(s, p, family, ipEnd, udpOff, ulen, t)) return null;
    const f = new UdpFlow(key, s, this.io, family, p, srcOff, sport, dstOff, dport, t, host.clock.now());
    if (!this.io.open(f, t)) {
      host.drop('sendFailed');
      host.unreachable(s, p, family);
      return null;
    }
    s.udp.add(f);
    host.counters.udpFlows++;
    return f;
  }

  /** Flushes, stops the receive loop (after every space has closed its flows). */
  shutdown(): Promise<void> {
    return this.io.shutdown();
  }
}

/** @internal The batched io's synchronous receive (tests, benchmarks); 0 for dgram. */
export function pollUdpNow(io: UdpIo): number {
  if (io instanceof BatchedUdpIo) return io.pollNow();
  return 0;
}

/** @internal Flushes the batched io's queued sends now (tests, benchmarks). */
export function flushUdpNow(io: UdpIo): void {
  if (io instanceof BatchedUdpIo) io.flush();
}

export function checkUdpMode(v: unknown): UdpMode {
  if (v === undefined) return 'auto';
  if (v === 'auto' || v === 'batched' || v === 'dgram') return v;
  throw new PktError('ERR_PKT_CONFIG', `slirp: udp must be 'auto', 'batched' or 'dgram', got ${JSON.stringify(v)}`);
}
