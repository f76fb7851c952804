/**
 * The contracts between vtcp's parts, fixed first so that they can be built side by side:
 *
 *   wire/tcp.ts (TcpFields, parse/emit)          the segment format, already there
 *   seq.ts, rto.ts, cc/*.ts, send-buffer.ts,     building blocks: pure, sans-I/O, each tested alone
 *   recv-buffer.ts, sack-scoreboard.ts,
 *   syn-cookies.ts
 *   tcb.ts (Tcb)                                 the RFC 9293 state machine over the blocks
 *   conn.ts (Conn), listener.ts (Listener)       the stream API (a node:stream Duplex) on a Tcb
 *   stack.ts (TcpStack)                          IPv4/IPv6 demultiplexing over an L3Device
 *
 * Every engine here is sans-I/O: segments in, segments out through a `SegmentSink`, time from an
 * injected `Clock` (core/clock.ts), randomness from an injected `random`. Sequence numbers are
 * uint32 values held in JavaScript numbers; compare them only through seq.ts.
 */

import type { Clock } from '../core/clock.js';
import type { TcpFields } from '../wire/tcp.js';

/** The states of RFC 9293 §3.3.2. */
export const TcpState = {
  Closed: 0,
  Listen: 1,
  SynSent: 2,
  SynReceived: 3,
  Established: 4,
  FinWait1: 5,
  FinWait2: 6,
  CloseWait: 7,
  Closing: 8,
  LastAck: 9,
  TimeWait: 10,
} as const;
export type TcpState = (typeof TcpState)[keyof typeof TcpState];

export const TCP_STATE_NAMES: readonly string[] = [
  'CLOSED', 'LISTEN', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2',
  'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT',
];

/**
 * Where a Tcb's segments go. `emit` is called synchronously; `f` is a reused object and
 * `payload[payloadOff, payloadOff + payloadLen)` borrowed bytes, both valid only during the call.
 * The sink builds the IP header and the TCP checksum (the Tcb knows no addresses' bytes).
 * A sink must not call back into the Tcb from `emit` (the Tcb is not reentrant); one that loops
 * segments straight to another Tcb in the same thread queues them and delivers after the call.
 */
export interface SegmentSink {
  emit(f: TcpFields, payload: Uint8Array, payloadOff: number, payloadLen: number): void;
}

/** A congestion controller (RFC 5681 NewReno, RFC 9438 CUBIC). All sizes in bytes. */
export interface CongestionControl {
  readonly name: 'newreno' | 'cubic';
  /** Congestion window. */
  readonly cwnd: number;
  /** Slow-start threshold (Infinity until the first loss). */
  readonly ssthresh: number;
  /** Sets the initial window for `mss` (RFC 6928: min(10 MSS, max(2 MSS, 14600))). */
  init(mss: number, now: number): void;
  /**
   * New data acknowledged outside loss recovery: grow the window (slow start below ssthresh,
   * congestion avoidance above). `rttMs` is the latest RTT sample or -1.
   */
  onAck(ackedBytes: number, flightBytes: number, rttMs: number, now: number): void;
  /** Loss detected by duplicate ACKs or SACK (entering recovery): set ssthresh, cwnd = ssthresh. */
  onLoss(flightBytes: number, now: number): void;
  /** Recovery ended (the recovery point acknowledged): cwnd = ssthresh, CUBIC's epoch restarts. */
  onRecoveryEnd(now: number): void;
  /** Retransmission timeout: ssthresh from the flight, cwnd = 1 MSS (RFC 5681 §3.1 eq. 4). */
  onRto(flightBytes: number, now: number): void;
}

export type CongestionControlName = 'newreno' | 'cubic';

/** Options of one connection (a Tcb), with their defaults. */
export interface TcbOptions {
  clock: Clock;
  /** Uniform in [0, 1): ISN offsets, jitter. */
  random?: () => number;
  /** Our MSS to announce (default 1460; an IPv6 host passes 1440 for a 1500 MTU). */
  mss?: number;
  /** Send buffer bytes (default 256 KiB). `write` accepts up to this much unacknowledged data. */
  sendBufferSize?: number;
  /** Receive buffer bytes (default 256 KiB): the window we offer, and the reassembly bound. */
  recvBufferSize?: number;
  /** Offer and use SACK (default true). */
  sack?: boolean;
  /** Offer and use timestamps (default true). */
  timestamps?: boolean;
  /** Offer window scaling (default true). */
  windowScaling?: boolean;
  congestionControl?: CongestionControlName;
  /** Nagle's algorithm off (default false: Nagle on, as in node:net). */
  noDelay?: boolean;
  /** Delayed ACK timeout in ms (default 40; 0 acknowledges every segment at once). */
  delayedAckMs?: number;
  /** TIME-WAIT duration, 2 MSL, in ms (default 60 000). */
  timeWaitMs?: number;
  /** Keepalive: off by default; idle ms before the first probe, interval, probes before abort. */
  keepalive?: { idleMs: number; intervalMs: number; probes: number } | null;
  /** Give up after this many retransmissions of one segment (default 15, as Linux's tcp_retries2). */
  maxRetries?: number;
  /** Retransmission timeout bounds (RFC 6298: initial 1 s, min 1 s; Linux uses min 200 ms). */
  rtoInitialMs?: number;
  rtoMinMs?: number;
  rtoMaxMs?: number;
  /** Out-of-order segments held for reassembly at most (default 64). */
  maxOutOfOrder?: number;
}

/** What a Tcb reports to its owner (Conn, or a test). Called synchronously, never reentrantly. */
export interface TcbEvents {
  /** The handshake completed (ESTABLISHED). */
  onEstablished?(): void;
  /** In-order bytes are readable (`tcb.read`). */
  onReadable?(): void;
  /** The peer's FIN was received in order: no more data will come. */
  onEnd?(): void;
  /** Send buffer space became free after being full (back-pressure released). */
  onDrain?(): void;
  /**
   * The connection is gone: `reason` is null for an orderly close, else a code:
   * 'ECONNRESET' (RST received), 'ECONNREFUSED' (RST to our SYN), 'ETIMEDOUT' (retries or
   * keepalive exhausted), 'ECONNABORTED' (aborted locally).
   */
  onClose?(reason: string | null): void;
}

/** Counters of one Tcb (and summed by a stack). */
export interface TcbStats {
  segmentsIn: number;
  segmentsOut: number;
  bytesIn: number;
  bytesOut: number;
  retransmits: number;
  fastRetransmits: number;
  rtoTimeouts: number;
  dupAcks: number;
  challengeAcks: number;
  outOfOrder: number;
  /** Segments dropped, by reason (bad sequence, PAWS, no ACK, ...). */
  drops: Record<string, number>;
}
