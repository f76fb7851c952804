/**
 * Constants, drop reasons, counters and the stateless RST reply shared by the Tcb's layers and
 * the Listener (see tcb-base.ts for the Tcb's structure).
 */

import { TCP_FLAG_ACK, TCP_FLAG_FIN, TCP_FLAG_RST, TCP_FLAG_SYN, TCP_MAX_WINDOW_SCALE, type TcpFields } from '../wire/tcp.js';
import type { SegmentSink, TcbEvents, TcbStats } from './contract.js';
import { seqAdd32 } from './seq.js';

// Spec constants.
/** RFC 9293 §3.7.1: the MSS assumed when the peer sends no MSS option (IPv4: 576 - 40). */
export const TCP_DEFAULT_PEER_MSS = 536;
/** RFC 7323 §2.2: the largest window a segment's 16-bit field carries unscaled. */
export const TCP_MAX_UNSCALED_WINDOW = 0xffff;
/** RFC 7323 §3.2: the Timestamps option with its NOP padding takes 12 bytes of each segment. */
export const TCP_TIMESTAMPS_SPACE = 12;
/** RFC 2018 §3: a SACK option is 2 bytes plus 8 per block (padded with 2 NOPs to words). */
export const TCP_SACK_BASE_SPACE = 4;
export const TCP_SACK_BLOCK_SPACE = 8;
/** RFC 5961 §7: challenge ACKs are rate-limited; Linux's default is 1000/s per host; we do 10/s per connection. */
export const CHALLENGE_ACK_LIMIT = 10;
export const CHALLENGE_ACK_WINDOW_MS = 1000;

// Implementation defaults (see TcbOptions).
export const TCB_DEFAULT_MSS = 1460;
export const TCB_DEFAULT_BUFFER = 256 * 1024;
export const TCB_DEFAULT_DELAYED_ACK_MS = 40;
export const TCB_DEFAULT_TIME_WAIT_MS = 60_000;
export const TCB_DEFAULT_MAX_RETRIES = 15;
/** SYN and SYN-ACK retransmissions before giving up (Linux tcp_syn_retries). */
export const TCB_MAX_SYN_RETRIES = 6;

/** Why a segment was dropped: the keys of `TcbStats.drops`, all present from the start. */
export const TcbDrop = {
  closed: 'closed',
  badAck: 'badAck',
  noAck: 'noAck',
  outOfWindow: 'outOfWindow',
  paws: 'paws',
  rstOutOfWindow: 'rstOutOfWindow',
  synInWindow: 'synInWindow',
  ackTooOld: 'ackTooOld',
  ackUnsent: 'ackUnsent',
  oooFull: 'oooFull',
  challengeLimit: 'challengeLimit',
  noSyn: 'noSyn',
  afterClose: 'afterClose',
} as const;
export type TcbDrop = (typeof TcbDrop)[keyof typeof TcbDrop];

/** Event bits for `pending`. */
export const EV_ESTABLISHED = 1;
export const EV_READABLE = 2;
export const EV_END = 4;
export const EV_DRAIN = 8;
export const EV_CLOSE = 16;
export const EV_FREED = 32;

/** TcbEvents plus what a stack needs: `onFreed` when the Tcb is CLOSED for good (after TIME-WAIT too). */
export interface TcbHooks extends TcbEvents {
  onFreed?(): void;
}

/**
 * The RST RFC 9293 §3.10.7 answers an unacceptable segment `f` (carrying `len` payload bytes)
 * with: <SEQ=SEG.ACK><CTL=RST> if it had an ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
 * Never in reply to an RST. `out` is the caller's reused fields.
 */
export function emitRstReply(sink: SegmentSink, out: TcpFields, f: TcpFields, len: number, scratch: Uint8Array): void {
  if ((f.flags & TCP_FLAG_RST) !== 0) return;
  out.srcPort = f.dstPort;
  out.dstPort = f.srcPort;
  if ((f.flags & TCP_FLAG_ACK) !== 0) {
    out.seq = f.ack;
    out.ack = 0;
    out.flags = TCP_FLAG_RST;
  } else {
    let segLen = len;
    if ((f.flags & TCP_FLAG_SYN) !== 0) segLen++;
    if ((f.flags & TCP_FLAG_FIN) !== 0) segLen++;
    out.seq = 0;
    out.ack = seqAdd32(f.seq, segLen);
    out.flags = TCP_FLAG_RST | TCP_FLAG_ACK;
  }
  out.window = 0;
  out.urgent = 0;
  out.mss = 0;
  out.windowScale = -1;
  out.sackPermitted = false;
  out.hasTimestamps = false;
  out.sackCount = 0;
  sink.emit(out, scratch, 0, 0);
}

export function newStats(): TcbStats {
  const drops: Record<string, number> = {};
  for (const k of Object.values(TcbDrop)) drops[k] = 0;
  return {
    segmentsIn: 0,
    segmentsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    retransmits: 0,
    fastRetransmits: 0,
    rtoTimeouts: 0,
    dupAcks: 0,
    challengeAcks: 0,
    outOfOrder: 0,
    drops,
  };
}

/** The smallest shift that brings `bytes` into a 16-bit window field (RFC 7323 §2.3, at most 14). */
export function windowShiftFor(bytes: number): number {
  let s = 0;
  while (s < TCP_MAX_WINDOW_SCALE && bytes > TCP_MAX_UNSCALED_WINDOW * 2 ** s) s++;
  return s;
}

