/**
 * Segment arrival: RFC 9293 §3.10.7 "SEGMENT ARRIVES", for a Tcb that exists (SYN-SENT and the
 * synchronized states; LISTEN is the Listener's, CLOSED the stack's). In order:
 *
 *   SYN-SENT    ACK check (RST for an ACK of nothing we sent), RST (accepted only with an
 *               acceptable ACK, RFC 5961 §3.2), SYN: ESTABLISHED, or SYN-RECEIVED on a
 *               simultaneous open.
 *   otherwise   PAWS (RFC 7323 §5.3), the acceptability test (§3.10.7.4's four cases, with the
 *               window we advertised), TS.Recent (RFC 7323 §4.3), RST (RFC 5961 §3.2: reset
 *               only at exactly RCV.NXT, a challenge ACK elsewhere in the window), SYN
 *               (RFC 5961 §4.2: a challenge ACK), ACK (RFC 5961 §5.2's acceptable range, then
 *               SND.UNA, RTT, congestion control, loss recovery, and the send window under the
 *               SND.WL1/WL2 rule), text (bounded reassembly, delayed ACK), FIN (in order only).
 *
 * Duplicate ACKs follow RFC 5681 §2's definition exactly: data outstanding, no payload, no SYN or
 * FIN, the ACK equal to SND.UNA and the window unchanged. Nothing here throws for any segment:
 * a segment is processed, or dropped and counted in `stats.drops` by reason.
 */

import { TCP_FLAG_ACK, TCP_FLAG_FIN, TCP_FLAG_RST, TCP_FLAG_SYN, type TcpFields } from '../wire/tcp.js';
import { TcpState } from './contract.js';
import { DUP_THRESH } from './sack-scoreboard.js';
import { EV_DRAIN, EV_END, EV_ESTABLISHED, EV_READABLE, TCP_DEFAULT_PEER_MSS, TCP_MAX_UNSCALED_WINDOW, TCP_TIMESTAMPS_SPACE, TcbDrop, emitRstReply } from './tcb-base.js';
import { TcbOutput } from './tcb-output.js';
import { seqAdd32, seqDiff, seqGe, seqGt, seqLe, seqLt } from './seq.js';

export abstract class TcbInput extends TcbOutput {
  /**
   * A segment for this connection, already checksummed and demultiplexed by the stack. `f` and
   * the payload bytes are borrowed for the call. Never throws.
   */
  input(f: TcpFields, payload: Uint8Array, off: number, len: number): void {
    const now = this.nowMs();
    const st = this.statsData;
    st.segmentsIn++;
    st.bytesIn += len;
    const state = this.state;
    if (state === TcpState.Closed || state === TcpState.Listen) {
      this.drop(TcbDrop.closed);
      return;
    }
    if (state === TcpState.SynSent) this.synSentInput(f, payload, off, len, now);
    else this.syncInput(f, payload, off, len, now);
    if (this.state !== TcpState.Closed) {
      this.output(now);
      if (this.ackNow) this.sendAck(now);
      this.rearm(now);
    }
    this.flushEvents();
  }

  /** Options from the peer's SYN (RFC 7323 §1.3, RFC 2018 §2: in use only if both offered). */
  negotiate(f: TcpFields): void {
    const peerMss = f.mss > 0 ? f.mss : TCP_DEFAULT_PEER_MSS;
    this.wsOn = this.wsOffered && f.windowScale >= 0;
    this.sndShift = this.wsOn ? f.windowScale : 0;
    if (!this.wsOn) this.rcvShift = 0;
    this.sackOn = this.sackOffered && f.sackPermitted;
    this.tsOn = this.tsOffered && f.hasTimestamps;
    if (this.tsOn) this.tsRecent = f.tsVal | 0;
    const m = peerMss < this.ourMss ? peerMss : this.ourMss;
    this.segMss = this.tsOn ? m - TCP_TIMESTAMPS_SPACE : m;
  }

  /** The handshake is done: ESTABLISHED (or FIN-WAIT-1 when shutdown() came first). */
  establish(now: number): void {
    this.state = this.finQueued ? TcpState.FinWait1 : TcpState.Established;
    this.retries = 0;
    this.cc.init(this.segMss, now);
    this.recover = this.sndUna;
    this.pending |= EV_ESTABLISHED;
    if (this.recvBuf.readable > 0) this.pending |= EV_READABLE;
    if (this.keepalive) this.keepAt = now + this.keepIdleMs;
  }

  private synSentInput(f: TcpFields, payload: Uint8Array, off: number, len: number, now: number): void {
    const fl = f.flags;
    const hasAck = (fl & TCP_FLAG_ACK) !== 0;
    if (hasAck && (seqLe(f.ack, this.iss) || seqGt(f.ack, this.sndMax))) {
      emitRstReply(this.sink, this.out, f, len, this.scratch);
      this.drop(TcbDrop.badAck);
      return;
    }
    if ((fl & TCP_FLAG_RST) !== 0) {
      if (hasAck) this.enterClosed('ECONNREFUSED');
      else this.drop(TcbDrop.rstOutOfWindow);
      return;
    }
    if ((fl & TCP_FLAG_SYN) === 0) {
      this.drop(TcbDrop.noSyn);
      return;
    }
    this.irs = f.seq | 0;
    this.rcvNxt = seqAdd32(f.seq, 1);
    this.recvBuf.init(this.rcvNxt);
    this.negotiate(f);
    const free = this.recvBuf.window;
    this.rcvAdv = seqAdd32(this.rcvNxt, free < TCP_MAX_UNSCALED_WINDOW ? free : TCP_MAX_UNSCALED_WINDOW);
    // RFC 7323 §2.2: the window of a SYN segment is not scaled.
    this.sndWnd = f.window;
    this.maxSndWnd = f.window;
    this.sndWl1 = f.seq | 0;
    this.sndWl2 = f.ack | 0;
    if (len > 0 && this.recvBuf.insert(seqAdd32(f.seq, 1), payload, off, len) >= 0) this.rcvNxt = this.recvBuf.nxt32;
    if (hasAck) {
      if (this.tsOn && f.tsEcr !== 0) this.rto.sample(((this.tsNow(now) - f.tsEcr) | 0) >= 0 ? (this.tsNow(now) - f.tsEcr) | 0 : -1);
      else if (this.retries === 0 && this.rttTiming) this.rto.sample(now - this.rttStartMs);
      this.rttTiming = false;
      this.sndUna = f.ack | 0;
      if (seqLt(this.sndNxt, this.sndUna)) this.sndNxt = this.sndUna;
      this.rtoAt = -1;
      this.establish(now);
      this.ackNow = true;
      if ((fl & TCP_FLAG_FIN) !== 0) {
        this.peerFinPending = true;
        this.peerFinSeq = seqAdd32(f.seq, 1 + len);
        this.maybeFin(now);
      }
    } else {
      // Simultaneous open (RFC 9293 §3.5 figure 8): SYN-RECEIVED, answer with SYN-ACK at ISS.
      this.state = TcpState.SynReceived;
      this.xmit(TCP_FLAG_SYN | TCP_FLAG_ACK, seqDiff(this.iss, this.sndUna), 0, now);
      this.rtoAt = now + this.rto.rto;
    }
  }

  private syncInput(f: TcpFields, payload: Uint8Array, off: number, len: number, now: number): void {
    let fl = f.flags;
    // SEG.SEQ as an int32 (the same value modulo 2^32): compared only through seq.ts or
    // `((a - b) | 0) === 0`, stored back with `>>> 0`. As a uint32 at or above 2^31 V8 kept boxing
    // it here (about one HeapNumber per segment); an int32 stays a small integer.
    let seq = f.seq | 0;
    // SYN-RECEIVED meeting the SYN again: a retransmitted SYN (our SYN-ACK was lost: resend it)
    // or, on a simultaneous open, the peer's SYN-ACK, whose SYN we already hold.
    if (this.state === TcpState.SynReceived && (fl & TCP_FLAG_SYN) !== 0 && ((seq - this.irs) | 0) === 0 && (fl & TCP_FLAG_RST) === 0) {
      if ((fl & TCP_FLAG_ACK) !== 0 && seqGt(f.ack, this.sndUna) && seqLe(f.ack, this.sndMax)) {
        fl &= ~TCP_FLAG_SYN;
        seq = (seq + 1) | 0;
      } else {
        this.xmit(TCP_FLAG_SYN | TCP_FLAG_ACK, seqDiff(this.iss, this.sndUna), 0, now);
        return;
      }
    }
    this.segSeq = seq;
    const rst = (fl & TCP_FLAG_RST) !== 0;
    // RFC 7323 §5.3 R1: PAWS.
    if (this.tsOn && f.hasTimestamps && !rst && ((f.tsVal - this.tsRecent) | 0) < 0) {
      this.drop(TcbDrop.paws);
      this.oowAck(now, len === 0);
      return;
    }
    // RFC 9293 §3.10.7.4 first: the acceptability test.
    let segLen = len;
    if ((fl & TCP_FLAG_SYN) !== 0) segLen++;
    if ((fl & TCP_FLAG_FIN) !== 0) segLen++;
    let rcvWnd = seqDiff(this.rcvAdv, this.rcvNxt);
    if (rcvWnd < 0) rcvWnd = 0;
    const nxt = this.rcvNxt;
    let ok: boolean;
    if (segLen === 0) {
      ok = rcvWnd === 0 ? ((seq - nxt) | 0) === 0 : seqLe(nxt, seq) && seqLt(seq, seqAdd32(nxt, rcvWnd));
    } else if (rcvWnd === 0) {
      ok = false;
    } else {
      const last = seqAdd32(seq, segLen - 1);
      const right = seqAdd32(nxt, rcvWnd);
      ok = (seqLe(nxt, seq) && seqLt(seq, right)) || (seqLe(nxt, last) && seqLt(last, right));
    }
    if (!ok) {
      if (rst) {
        this.drop(TcbDrop.rstOutOfWindow);
        return;
      }
      // A retransmitted FIN in TIME-WAIT: acknowledge it and restart the 2 MSL timer.
      if (this.state === TcpState.TimeWait && (fl & TCP_FLAG_FIN) !== 0) this.twAt = now + this.timeWaitMs;
      this.drop(TcbDrop.outOfWindow);
      this.oowAck(now, segLen === 0);
      return;
    }
    // RFC 7323 §4.3: "If SEG.TSval >= TS.Recent and SEG.SEQ <= Last.ACK.sent then SEG.TSval is
    // copied to TS.Recent" (the PAWS test above checked the first half).
    if (this.tsOn && f.hasTimestamps && seqLe(seq, this.lastAckSent)) this.tsRecent = f.tsVal | 0;
    this.keepSent = 0;
    if (this.keepalive && this.keepAt >= 0) this.keepAt = now + this.keepIdleMs;
    // Second: RST (RFC 5961 §3.2).
    if (rst) {
      if (((seq - nxt) | 0) === 0) this.onReset();
      else this.challengeAck(now);
      return;
    }
    // Fourth: SYN in a synchronized state (RFC 5961 §4.2).
    if ((fl & TCP_FLAG_SYN) !== 0) {
      this.drop(TcbDrop.synInWindow);
      this.challengeAck(now);
      return;
    }
    // Fifth: ACK.
    if ((fl & TCP_FLAG_ACK) === 0) {
      this.drop(TcbDrop.noAck);
      return;
    }
    if (this.state === TcpState.SynReceived) {
      if (seqGt(f.ack, this.sndUna) && seqLe(f.ack, this.sndMax)) {
        this.sndWnd = f.window * 2 ** this.sndShift;
        this.maxSndWnd = this.sndWnd;
        this.sndWl1 = seq;
        this.sndWl2 = f.ack | 0;
        if (this.tsOn && f.hasTimestamps && f.tsEcr !== 0) {
          const rtt = (this.tsNow(now) - f.tsEcr) | 0;
          if (rtt >= 0) this.rto.sample(rtt);
        }
        this.sndUna = f.ack | 0;
        if (seqLt(this.sndNxt, this.sndUna)) this.sndNxt = this.sndUna;
        this.rtoAt = -1;
        this.establish(now);
      } else {
        emitRstReply(this.sink, this.out, f, len, this.scratch);
        this.drop(TcbDrop.badAck);
        return;
      }
    } else if (!this.processAck(f, len, now)) {
      return;
    }
    if (this.finQueued && !this.finAcked && seqGt(this.sndUna, this.finSeq)) {
      this.finAcked = true;
      if (this.state === TcpState.FinWait1) {
        this.state = TcpState.FinWait2;
      } else if (this.state === TcpState.Closing) {
        this.enterTimeWait(now);
        return;
      } else if (this.state === TcpState.LastAck) {
        this.enterClosed(null);
        return;
      }
    }
    const state = this.state;
    if (state === TcpState.TimeWait) {
      if ((fl & TCP_FLAG_FIN) !== 0) {
        this.twAt = now + this.timeWaitMs;
        this.ackNow = true;
      }
      return;
    }
    // Seventh: text. Trim what precedes RCV.NXT (the stored part of a retransmission).
    let fin = (fl & TCP_FLAG_FIN) !== 0;
    if (len > 0) {
      if (state === TcpState.Established || state === TcpState.FinWait1 || state === TcpState.FinWait2) {
        if (this.userClosed) {
          // close() gave up reading: new data is answered with RST (RFC 2525 §2.17, as Linux).
          this.sendRst(now);
          this.drop(TcbDrop.afterClose);
          this.enterClosed('ECONNRESET');
          return;
        }
        const rb = this.recvBuf;
        const hi = seqAdd32(rb.nxt32, rb.capacity - rb.readable);
        if (seqGt(seqAdd32(seq, len), hi)) fin = false; // the FIN lies beyond what we can hold
        this.receiveData(payload, off, len, now);
      } else {
        fin = false;
      }
    }
    // Eighth: FIN, processed once every byte before it is in.
    if (fin && !this.peerFinReceived) {
      this.peerFinPending = true;
      this.peerFinSeq = seqAdd32(seq, len);
    }
    this.maybeFin(now);
  }

  private receiveData(payload: Uint8Array, off: number, len: number, now: number): void {
    const seq = this.segSeq;
    const rb = this.recvBuf;
    const hadHoles = rb.hasOutOfOrder;
    const advanced = rb.insert(seq | 0, payload, off, len);
    if (len > this.rcvMss && len <= this.ourMss) this.rcvMss = len;
    if (advanced > 0) {
      this.rcvNxt = rb.nxt32;
      this.pending |= EV_READABLE;
      if (hadHoles || rb.hasOutOfOrder) {
        this.ackNow = true; // RFC 5681 §4.2: ACK at once when a segment fills (part of) a hole
      } else {
        this.unackedBytes += advanced;
        // RFC 5681 §4.2: an ACK at least for every second full-sized segment, else within the timeout.
        if (this.delayedAckMs <= 0 || this.unackedBytes >= 2 * this.rcvMss) this.ackNow = true;
        else if (this.delackAt < 0) this.delackAt = now + this.delayedAckMs;
      }
    } else {
      if (advanced < 0) this.drop(TcbDrop.oooFull);
      else if (seqGt(seq, rb.nxt32)) this.statsData.outOfOrder++;
      this.ackNow = true; // out of order or duplicate: an immediate duplicate ACK
    }
  }

  /** Processes a pending FIN once RCV.NXT has reached it. */
  maybeFin(now: number): void {
    if (!this.peerFinPending || this.recvBuf.nxt32 !== this.peerFinSeq) return;
    this.peerFinPending = false;
    this.peerFinReceived = true;
    this.rcvNxt = seqAdd32(this.peerFinSeq, 1);
    this.ackNow = true;
    this.pending |= EV_END;
    switch (this.state) {
      case TcpState.SynReceived:
      case TcpState.Established:
        this.state = TcpState.CloseWait;
        break;
      case TcpState.FinWait1:
        if (this.finAcked) this.enterTimeWait(now);
        else this.state = TcpState.Closing;
        break;
      case TcpState.FinWait2:
        this.enterTimeWait(now);
        break;
      default:
        break;
    }
  }

  /** An acceptable RST at exactly RCV.NXT. */
  private onReset(): void {
    switch (this.state) {
      case TcpState.SynReceived:
        this.enterClosed('ECONNREFUSED');
        break;
      case TcpState.Closing:
      case TcpState.LastAck:
      case TcpState.TimeWait:
        this.enterClosed(null);
        break;
      default:
        this.enterClosed('ECONNRESET');
        break;
    }
  }

  /** The ACK field of a synchronized-state segment. Returns false when the segment is dropped. */
  private processAck(f: TcpFields, len: number, now: number): boolean {
    const ack = f.ack | 0; // int32, as SEG.SEQ in syncInput
    const seq = this.segSeq;
    const una = this.sndUna;
    if (seqGt(ack, this.sndMax)) {
      // RFC 9293: an ACK of something not yet sent: send an ACK, drop the segment.
      this.drop(TcbDrop.ackUnsent);
      this.challengeAck(now);
      return false;
    }
    if (seqLt(ack, seqAdd32(una, -this.maxSndWnd))) {
      // RFC 5961 §5.2: older than the largest window could explain: a blind injection.
      this.drop(TcbDrop.ackTooOld);
      this.challengeAck(now);
      return false;
    }
    const wnd = f.window * 2 ** this.sndShift;
    if (this.sackOn && f.sackCount > 0) this.scoreboard.update(f.sackBlocks, f.sackCount, seqGt(ack, una) ? ack : una, this.sndMax);
    if (seqGt(ack, una)) {
      this.onNewAck(f, now);
    } else if (((ack - una) | 0) === 0 && len === 0 && (f.flags & (TCP_FLAG_SYN | TCP_FLAG_FIN)) === 0 && una !== this.sndMax && wnd === this.sndWnd) {
      this.onDupAck(now);
    }
    // SND.WND from this segment only if it is newer (RFC 9293 §3.10.7.4, the SND.WL1/WL2 rule).
    if (seqGe(ack, una) && (seqLt(this.sndWl1, seq) || (((this.sndWl1 - seq) | 0) === 0 && seqLe(this.sndWl2, ack)))) {
      this.sndWnd = wnd;
      this.sndWl1 = seq;
      this.sndWl2 = ack;
      if (wnd > this.maxSndWnd) this.maxSndWnd = wnd;
      if (wnd > 0 && this.persistAt >= 0) {
        this.persistAt = -1;
        this.persistBackoff = 0;
      }
    }
    return true;
  }

  private onNewAck(f: TcpFields, now: number): void {
    const ack = f.ack | 0; // int32, as SEG.SEQ in syncInput
    const una = this.sndUna;
    const acked = seqDiff(ack, una);
    // RTT: from the echoed timestamp (RFC 7323 §4.1), else the one timed segment (Karn).
    let rtt = -1;
    if (this.tsOn && f.hasTimestamps && f.tsEcr !== 0) {
      rtt = (this.tsNow(now) - f.tsEcr) | 0;
      if (rtt >= 0) this.rto.sample(rtt);
    } else if (this.rttTiming && seqGt(ack, this.rttSeq)) {
      rtt = now - this.rttStartMs;
      this.rto.sample(rtt);
      this.rttTiming = false;
    }
    this.sendBuf.ack((this.finQueued && seqGt(ack, this.finSeq) ? this.finSeq : ack) | 0);
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    this.retries = 0;
    if (this.sackOn && !this.scoreboard.empty) this.scoreboard.advance(ack | 0);
    let restartRto = true;
    if (this.inRecovery) {
      if (seqGe(ack, this.recover)) {
        // RFC 6582 §3.2 step 6 / RFC 6675 §5: the recovery point is acknowledged.
        this.inRecovery = false;
        this.cwndInflate = 0;
        this.dupAcks = 0;
        this.cc.onRecoveryEnd(now);
      } else if (this.sackOn) {
        this.pipe = this.scoreboard.pipe(ack, this.sndMax, this.highRxt, this.segMss);
      } else {
        // RFC 6582 §3.2 step 5: partial ACK: resend the next hole, deflate by what was acked.
        this.retransmitHead(now);
        this.cwndInflate -= acked;
        if (acked >= this.segMss) this.cwndInflate += this.segMss;
        restartRto = false;
      }
    } else {
      this.dupAcks = 0;
      this.cc.onAck(acked, seqDiff(this.sndMax, una), rtt, now);
      if (seqGt(ack, this.recover)) this.recover = ack;
    }
    if (this.sndUna === this.sndMax) this.rtoAt = -1;
    else if (restartRto) this.rtoAt = now + this.rto.rto;
    if (this.drainWanted && !this.finQueued && this.sendBuf.free >= this.sendBuf.capacity >>> 2) {
      this.drainWanted = false;
      this.pending |= EV_DRAIN;
    }
  }

  /** RFC 5681 §3.2 / RFC 6582 / RFC 6675 §5: a duplicate ACK. */
  private onDupAck(now: number): void {
    this.statsData.dupAcks++;
    this.dupAcks++;
    const mss = this.segMss;
    if (this.inRecovery) {
      if (this.sackOn) this.pipe = this.scoreboard.pipe(this.sndUna, this.sndMax, this.highRxt, mss);
      else this.cwndInflate += mss;
      return;
    }
    const lost = this.dupAcks >= DUP_THRESH || (this.sackOn && this.scoreboard.isLost(this.sndUna, mss));
    // RFC 6582 §3.2 step 2: no new recovery until the ACK covers the previous one's `recover`.
    if (!lost || this.sndNxt !== this.sndMax || seqLt(this.sndUna, this.recover)) return;
    this.statsData.fastRetransmits++;
    this.inRecovery = true;
    this.recover = this.sndMax;
    this.cc.onLoss(seqDiff(this.sndMax, this.sndUna), now);
    if (this.sackOn) {
      this.highRxt = seqAdd32(this.sndUna, this.retransmitHead(now));
      this.pipe = this.scoreboard.pipe(this.sndUna, this.sndMax, this.highRxt, mss);
    } else {
      this.retransmitHead(now);
      this.cwndInflate = DUP_THRESH * mss;
    }
  }
}
