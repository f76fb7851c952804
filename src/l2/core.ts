/**
 * What the ARP and NDP engines need of their adapter: its MAC, counters and addresses, and a
 * way to put a frame on the link. The L2Adapter implements it; the engines never see the rest.
 */

import type { OwnAddrs } from './addrs.js';
import type { L2Counters } from './stats.js';

export interface L2Core {
  /** Our MAC: high 16 bits and low 32 bits (as int32). */
  readonly macHi: number;
  readonly macLo: number;
  readonly counters: L2Counters;
  readonly addrs: OwnAddrs;
  /**
   * A buffer of `len` bytes for a new frame with the Ethernet header (our MAC as source) already
   * written, or null (counted) when none can be had. Pass it to `emit` before anything else is sent.
   */
  frame(len: number, dstHi: number, dstLo: number, etherType: number): Uint8Array | null;
  /** Hands a frame from `frame` to the link. */
  emit(frame: Uint8Array): void;
  /** Sends an IP packet (copied behind an Ethernet header) to the MAC given. */
  sendIp(packet: Uint8Array, dstHi: number, dstLo: number, etherType: number): void;
}

/** Writes an Ethernet II header at 0. MACs as high 16 bits and low 32 bits. */
export function writeEthHeader(b: Uint8Array, dstHi: number, dstLo: number, srcHi: number, srcLo: number, etherType: number): void {
  b[0] = dstHi >>> 8;
  b[1] = dstHi;
  b[2] = dstLo >>> 24;
  b[3] = dstLo >>> 16;
  b[4] = dstLo >>> 8;
  b[5] = dstLo;
  b[6] = srcHi >>> 8;
  b[7] = srcHi;
  b[8] = srcLo >>> 24;
  b[9] = srcLo >>> 16;
  b[10] = srcLo >>> 8;
  b[11] = srcLo;
  b[12] = etherType >>> 8;
  b[13] = etherType;
}
