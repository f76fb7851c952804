/**
 * Counters of an L2Adapter: frames and bytes each way, drops by reason, and protocol events.
 *
 * Drop reasons are numbers (never strings on the packet path): the WireStatus codes and core
 * DropReason codes first (stats.ts in core), then the adapter's own, below. Counters live in one
 * Float64Array so that incrementing allocates nothing and never changes an object's shape.
 */

import { DROP_REASON_COUNT, DROP_REASON_NAMES } from '../core/stats.js';

/** Drop reasons of the adapter, after the core ones (DropReason in core/stats.ts). */
export const L2DropReason = {
  /** Unicast to another MAC, or a multicast group the adapter has not joined. */
  NotForUs: DROP_REASON_COUNT,
  /** A Neighbor Discovery message whose IPv6 Hop Limit is not 255 (RFC 4861 §7.1: maybe forwarded, so maybe off-link). */
  BadHopLimit: DROP_REASON_COUNT + 1,
  /** Address resolution failed (no answer after the retries): the packets that waited for it. */
  ResolutionFailed: DROP_REASON_COUNT + 2,
  /** A message fails a validity rule of RFC 4861 §7.1 or is not meant for us (an NS for another target). */
  NotValid: DROP_REASON_COUNT + 3,
  /** A queued packet dropped because its neighbour entry was evicted to make room. */
  Evicted: DROP_REASON_COUNT + 4,
  /** An IP version or EtherType the adapter does not carry. */
  UnknownProtocol: DROP_REASON_COUNT + 5,
} as const;

/** Number of drop reasons the adapter counts. */
export const L2_DROP_REASON_COUNT = DROP_REASON_COUNT + 6;

const L2_DROP_REASON_NAMES: readonly string[] = [
  ...DROP_REASON_NAMES,
  'not-for-us',
  'bad-hop-limit',
  'resolution-failed',
  'not-valid',
  'evicted',
  'unknown-protocol',
];

/** Protocol events the adapter counts (indices into the event counters). */
export const L2Event = {
  ArpRequestsSent: 0,
  ArpRepliesSent: 1,
  ArpAnnouncementsSent: 2,
  ArpProbesSent: 3,
  NsSent: 4,
  NaSent: 5,
  Resolved: 6,
  ResolutionFailures: 7,
  Evictions: 8,
  AddressConflicts: 9,
  Queued: 10,
} as const;
const EVENT_NAMES = [
  'arpRequestsSent',
  'arpRepliesSent',
  'arpAnnouncementsSent',
  'arpProbesSent',
  'nsSent',
  'naSent',
  'resolved',
  'resolutionFailures',
  'evictions',
  'addressConflicts',
  'queued',
] as const;
export type L2EventName = (typeof EVENT_NAMES)[number];

const RX_FRAMES = 0;
const RX_BYTES = 1;
const TX_FRAMES = 2;
const TX_BYTES = 3;
const EVENTS = 4;
const DROPS = EVENTS + EVENT_NAMES.length;

/** A snapshot of the adapter's counters (cold path: built on request). */
export interface L2AdapterStats {
  /** Frames and bytes the adapter took from the link (`send`). */
  rxFrames: number;
  rxBytes: number;
  /** Frames and bytes the adapter put on the link (to its handler). */
  txFrames: number;
  txBytes: number;
  /** Total drops, and the nonzero ones by reason name. */
  dropped: number;
  drops: Record<string, number>;
  /** Protocol events (requests sent, resolutions, evictions, …). */
  events: Record<L2EventName, number>;
  /** Entries in the ARP and neighbour caches now, and packets waiting for resolution. */
  arpEntries: number;
  ndpEntries: number;
  pendingPackets: number;
}

/** The adapter's counters. Every method allocates nothing. */
export class L2Counters {
  readonly c = new Float64Array(DROPS + L2_DROP_REASON_COUNT);

  rx(bytes: number): void {
    this.c[RX_FRAMES]!++;
    this.c[RX_BYTES]! += bytes;
  }
  tx(bytes: number): void {
    this.c[TX_FRAMES]!++;
    this.c[TX_BYTES]! += bytes;
  }
  drop(reason: number, n = 1): void {
    this.c[DROPS + reason]! += n;
  }
  event(e: number, n = 1): void {
    this.c[EVENTS + e]! += n;
  }
  dropsOf(reason: number): number {
    return this.c[DROPS + reason]!;
  }
  eventsOf(e: number): number {
    return this.c[EVENTS + e]!;
  }

  snapshot(arpEntries: number, ndpEntries: number, pendingPackets: number): L2AdapterStats {
    const c = this.c;
    const drops: Record<string, number> = {};
    let dropped = 0;
    for (let r = 0; r < L2_DROP_REASON_COUNT; r++) {
      const n = c[DROPS + r]!;
      if (n > 0) {
        drops[L2_DROP_REASON_NAMES[r]!] = n;
        dropped += n;
      }
    }
    const events = {} as Record<L2EventName, number>;
    EVENT_NAMES.forEach((name, i) => (events[name] = c[EVENTS + i]!));
    return {
      rxFrames: c[RX_FRAMES]!,
      rxBytes: c[RX_BYTES]!,
      txFrames: c[TX_FRAMES]!,
      txBytes: c[TX_BYTES]!,
      dropped,
      drops,
      events,
      arpEntries,
      ndpEntries,
      pendingPackets,
    };
  }
}
