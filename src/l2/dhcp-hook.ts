/**
 * The contract between a DHCP client engine (src/dhcp/client.ts) and the L2Adapter that hosts it
 * (`startDHCP`). It lives with the adapter, which owns the interface; pktkit/dhcp re-exports it.
 *
 * The host owns the interface: it hands the engine every IPv4/UDP frame to port 68 while the
 * engine is started, sends the frames the engine builds, answers ARP probes (RFC 5227) and
 * applies the leases it is given. The engine owns the protocol and its timers, armed on the
 * host's clock. Everything is called on one thread.
 */

import type { Clock } from '../core/clock.js';

/** What a client engine is told to apply: an address with its prefix, and what came with it. */
export interface DhcpAppliedLease {
  /** IPv4 address (u32). */
  addr: number;
  prefixLen: number;
  /** The first router (option 3), or null. */
  router: number | null;
  /** DNS servers (option 6), in order. */
  dns: number[];
}

export interface DhcpClientHost {
  /** The interface's MAC, 48-bit. */
  readonly mac: number;
  readonly clock: Clock;
  /** A uniform number in [0, 1): transaction ids and retransmission jitter. */
  readonly random: () => number;
  /** Sends a complete Ethernet frame. Borrowed: valid until the call returns. */
  sendFrame(frame: Uint8Array): void;
  /** ARP-probes the IPv4 address `addr` (RFC 5227 §2.1.1) and calls `cb` once with the result. */
  probe(addr: number, cb: (inUse: boolean) => void): void;
  /** Applies a lease to the interface; null: the lease is lost (or released), remove the address. */
  applyLease(lease: DhcpAppliedLease | null): void;
}

export interface DhcpClientEngine {
  start(): void;
  /** Sends a RELEASE if bound, and cancels every timer. */
  stop(): void;
  /** Every IPv4/UDP frame to port 68 while started. Borrowed. True when consumed. */
  handleFrame(frame: Uint8Array): boolean;
}

export type DhcpClientFactory = (host: DhcpClientHost) => DhcpClientEngine;

/** The lease as the adapter receives it (an alias kept for the adapter's own code). */
export type DhcpLease = DhcpAppliedLease;
