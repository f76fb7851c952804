/**
 * `Tcb`: one TCP connection's state machine (RFC 9293 §3.3.2, every state), sans-I/O. Segments
 * come in through `input` (parsed, checksummed and demultiplexed by the stack), go out through
 * the `SegmentSink`; time comes from the injected clock, through one timer per Tcb.
 *
 * Implemented: active, passive and simultaneous open; half-close and simultaneous close;
 * TIME-WAIT for `timeWaitMs` (2 MSL), restarted by a retransmitted FIN; RST handling with
 * RFC 5961's blind-attack mitigations (exact-sequence RST, challenge ACKs for in-window RST and
 * SYN, the ACK acceptability range, challenge ACKs rate-limited to 10 per second); the MSS option
 * (segments of min(peer MSS, ours) less the timestamps option); RTO per RFC 6298 with Karn's
 * rule and backoff, RTT from timestamps when negotiated (RFC 7323 §4); NewReno (RFC 6582) and
 * SACK-based recovery (RFC 6675); congestion control newreno or cubic; window scaling and
 * timestamps with PAWS (RFC 7323); delayed ACKs; Nagle (switchable); persist and keepalive
 * probes; a bounded send buffer (back-pressure) and bounded out-of-order reassembly.
 *
 * Deliberately not supported: urgent data (URG is ignored, RFC 6093 recommends against it),
 * ECN (RFC 3168), TCP Fast Open, RACK-TLP, NextSeg rules 3-4 (rescue retransmission), the
 * FIN-WAIT-2 timeout for orphaned connections (the owner aborts), RFC 7323's 24-day idle PAWS
 * exception, and limited transmit (RFC 3042).
 *
 * The go-pktkit defects it avoids: a retransmitted FIN keeps its sequence number (finSeq is
 * fixed at shutdown), the FIN follows all queued data, duplicate ACKs follow RFC 5681's
 * definition, reading opens the window with an update, and SND.WL1/WL2 guard the send window.
 *
 * Allocation: per segment, none (fields reused, payload sent as a view into the send buffer's
 * ring). Not reentrant: a SegmentSink must not call back into the Tcb from `emit`.
 */

import { ClosedError, PktError } from '../errors.js';
import { TCP_FLAG_SYN, TCP_FLAG_ACK, type TcpFields } from '../wire/tcp.js';
import { TCP_STATE_NAMES, TcpState, type SegmentSink, type TcbOptions, type TcbStats } from './contract.js';
import { TCP_MAX_UNSCALED_WINDOW, type TcbHooks } from './tcb-base.js';
import { TcbInput } from './tcb-input.js';
import { seqAdd32, seqDiff } from './seq.js';

export { TcbDrop, windowShiftFor, emitRstReply, type TcbHooks } from './tcb-base.js';

export class Tcb extends TcbInput {
  /**
   * @param sink where segments go (synchronously, borrowed fields and bytes)
   * @param opts clock, buffer sizes, options (contract.ts `TcbOptions` documents the defaults)
   * @param events the owner's callbacks; replaceable later through `tcb.events`
   */
  constructor(sink: SegmentSink, opts: TcbOptions, events: TcbHooks = {}) {
    super(sink, opts, events);
  }

  /** State name as RFC 9293 writes it ('ESTABLISHED'). */
  get stateName(): string {
    return TCP_STATE_NAMES[this.state]!;
  }

  /** In-order bytes ready for `read`. */
  get readable(): number {
    return this.recvBuf.readable;
  }

  /** Bytes `write` would accept now. */
  get writable(): number {
    return this.sendBuf.free;
  }

  /** Bytes written and not yet acknowledged. */
  get bufferedAmount(): number {
    return this.sendBuf.length;
  }

  private fresh(what: string): void {
    if (this.state !== TcpState.Closed || this.iss !== 0 || this.sndMax !== 0) {
      throw new PktError('ERR_PKT_INVALID_ARG', `vtcp: ${what} on a Tcb already used (state ${this.stateName})`);
    }
  }

  /**
   * Active open: sends a SYN with sequence number `iss` (an RFC 6528 ISN from IsnGenerator).
   * @throws {PktError} ERR_PKT_INVALID_ARG when the Tcb was used before.
   */
  connect(localPort: number, remotePort: number, iss: number): void {
    this.fresh('connect');
    const now = this.nowMs();
    this.localPort = localPort;
    this.remotePort = remotePort;
    this.start(iss | 0);
    this.state = TcpState.SynSent;
    this.rttTiming = true;
    this.rttSeq = this.iss;
    this.rttStartMs = now;
    this.xmit(TCP_FLAG_SYN, seqDiff(this.iss, this.sndUna), 0, now);
    this.rtoAt = now + this.rto.rto;
    this.rearm(now);
  }

  private start(iss: number): void {
    this.iss = iss;
    this.sndUna = iss;
    this.sndNxt = this.sndMax = seqAdd32(iss, 1);
    this.recover = iss;
    this.sendBuf.init(this.sndNxt);
  }

  /**
   * Passive open from a listener: `f` is the peer's SYN (with `len` bytes of payload, kept for
   * delivery once established). Sends the SYN-ACK and enters SYN-RECEIVED.
   * @throws {PktError} ERR_PKT_INVALID_ARG when the Tcb was used before.
   */
  acceptSyn(f: TcpFields, payload: Uint8Array, off: number, len: number, iss: number): void {
    this.fresh('acceptSyn');
    const now = this.nowMs();
    this.passive = true;
    this.localPort = f.dstPort;
    this.remotePort = f.srcPort;
    this.start(iss | 0);
    this.irs = f.seq | 0;
    this.rcvNxt = seqAdd32(f.seq, 1);
    this.recvBuf.init(this.rcvNxt);
    this.negotiate(f);
    this.sndWnd = this.maxSndWnd = f.window;
    this.sndWl1 = f.seq | 0;
    this.sndWl2 = this.iss;
    this.state = TcpState.SynReceived;
    if (len > 0 && this.recvBuf.insert(this.rcvNxt, payload, off, len) > 0) this.rcvNxt = this.recvBuf.nxt32;
    this.xmit(TCP_FLAG_SYN | TCP_FLAG_ACK, seqDiff(this.iss, this.sndUna), 0, now);
    this.rtoAt = now + this.rto.rto;
    this.rearm(now);
  }

  /**
   * Completes a SYN-cookie handshake: `f` is the peer's ACK whose cookie the listener validated,
   * `iss` our ISN (the cookie, ack - 1) and `mss` the MSS it encoded. Only the MSS is negotiated
   * (no window scaling, SACK or timestamps: the cookie does not carry them). The ACK and its
   * payload are processed as in SYN-RECEIVED, so the Tcb ends ESTABLISHED.
   */
  acceptCookie(f: TcpFields, payload: Uint8Array, off: number, len: number, iss: number, mss: number): void {
    this.fresh('acceptCookie');
    const now = this.nowMs();
    this.passive = true;
    this.localPort = f.dstPort;
    this.remotePort = f.srcPort;
    this.start(iss | 0);
    this.irs = seqAdd32(f.seq, -1);
    this.rcvNxt = f.seq | 0;
    this.recvBuf.init(f.seq);
    this.wsOn = this.sackOn = this.tsOn = false;
    this.rcvShift = this.sndShift = 0;
    this.segMss = mss < this.ourMss ? mss : this.ourMss;
    const free = this.recvBuf.window;
    this.rcvAdv = seqAdd32(this.rcvNxt, free < TCP_MAX_UNSCALED_WINDOW ? free : TCP_MAX_UNSCALED_WINDOW);
    this.sndWl1 = this.irs;
    this.sndWl2 = this.iss;
    this.state = TcpState.SynReceived;
    this.rearm(now);
    this.input(f, payload, off, len);
  }

  /**
   * Queues up to `len` bytes of src[off, ...) for sending; returns how many were taken (0 when
   * the send buffer is full: `onDrain` follows once space frees). Sends at once what the windows
   * and Nagle allow.
   * @throws {ClosedError} after shutdown(), close() or the end of the connection.
   */
  write(src: Uint8Array, off: number, len: number): number {
    const s = this.state;
    if (this.finQueued || !(s === TcpState.Established || s === TcpState.CloseWait || s === TcpState.SynSent || s === TcpState.SynReceived)) {
      throw new ClosedError('vtcp connection (writing side)');
    }
    const n = this.sendBuf.write(src, off, len);
    if (n < len) this.drainWanted = true;
    if (n > 0) {
      const now = this.nowMs();
      this.output(now);
      this.rearm(now);
      this.flushEvents();
    }
    return n;
  }

  /**
   * Moves up to `len` in-order bytes into dst[off, ...); returns the count (0 when none).
   * Frees receive space; when the window can open by at least min(2 MSS, buffer / 2), a window
   * update goes out at once (the go-pktkit engine waited for the peer's persist probe).
   */
  read(dst: Uint8Array, off: number, len: number): number {
    const n = this.recvBuf.read(dst, off, len);
    if (n > 0) {
      const s = this.state;
      if (s === TcpState.Established || s === TcpState.FinWait1 || s === TcpState.FinWait2) {
        const rb = this.recvBuf;
        const grow = seqDiff(seqAdd32(this.rcvNxt, rb.window), this.rcvAdv);
        const half = rb.capacity >>> 1;
        const twoMss = 2 * this.ourMss;
        if (grow >= (twoMss < half ? twoMss : half)) {
          const now = this.nowMs();
          this.sendAck(now);
          this.rearm(now);
        }
      }
    }
    return n;
  }

  /**
   * Half-close: a FIN goes after every byte already written (finSeq is fixed now, so a
   * retransmitted FIN keeps it). ESTABLISHED -> FIN-WAIT-1, CLOSE-WAIT -> LAST-ACK; in SYN-SENT
   * and SYN-RECEIVED the FIN waits for the handshake. Reading stays possible.
   */
  shutdown(): void {
    const s = this.state;
    if (this.finQueued) return;
    if (s !== TcpState.Established && s !== TcpState.CloseWait && s !== TcpState.SynSent && s !== TcpState.SynReceived) return;
    this.finQueued = true;
    this.finSeq = this.dataEnd();
    if (s === TcpState.Established) this.state = TcpState.FinWait1;
    else if (s === TcpState.CloseWait) this.state = TcpState.LastAck;
    const now = this.nowMs();
    this.output(now);
    this.rearm(now);
    this.flushEvents();
  }

  /**
   * Full close: shutdown(), and no more reading: data that arrives later is answered with RST.
   * With unread data already buffered, the connection is reset at once (RFC 2525 §2.17).
   */
  close(): void {
    const s = this.state;
    if (s === TcpState.Closed) return;
    this.userClosed = true;
    if (s === TcpState.SynSent) {
      this.enterClosed(null);
      this.flushEvents();
      return;
    }
    if (this.recvBuf.readable > 0) {
      this.abort();
      return;
    }
    this.shutdown();
  }

  /** Abort: RST to the peer where RFC 9293's ABORT says so, then CLOSED with ECONNABORTED. */
  abort(): void {
    const s = this.state;
    if (s === TcpState.Closed) return;
    if (s === TcpState.SynReceived || s === TcpState.Established || s === TcpState.FinWait1 || s === TcpState.FinWait2 || s === TcpState.CloseWait) {
      this.sendRst(this.nowMs());
    }
    this.enterClosed(s === TcpState.TimeWait ? null : 'ECONNABORTED');
    this.flushEvents();
  }

  /** Nagle off (true) or on (false); turning it off sends what it held. */
  setNoDelay(noDelay = true): void {
    this.noDelay = noDelay;
    if (noDelay && this.state !== TcpState.Closed) {
      const now = this.nowMs();
      this.output(now);
      this.rearm(now);
    }
  }

  /** Keepalive on or off (RFC 9293 §3.8.4); times in ms. */
  setKeepAlive(enable: boolean, idleMs = this.keepIdleMs, intervalMs = this.keepIntervalMs, probes = this.keepProbes): void {
    this.keepalive = enable;
    this.keepIdleMs = idleMs;
    this.keepIntervalMs = intervalMs;
    this.keepProbes = probes;
    this.keepSent = 0;
    const s = this.state;
    if (enable && (s === TcpState.Established || s === TcpState.CloseWait || s === TcpState.FinWait2)) {
      const now = this.nowMs();
      this.keepAt = now + idleMs;
      this.rearm(now);
    } else if (!enable) {
      this.keepAt = -1;
    }
  }

  /** A snapshot of the counters. */
  stats(): TcbStats {
    const s = this.statsData;
    return { ...s, drops: { ...s.drops } };
  }

  /** True while the ACK flag applies (every state after SYN-SENT): for tests and stacks. */
  get synchronized(): boolean {
    return this.state !== TcpState.Closed && this.state !== TcpState.Listen && this.state !== TcpState.SynSent;
  }
}
