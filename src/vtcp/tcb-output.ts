/**
 * The send path of a Tcb: what leaves, when.
 *
 *   SND.UNA          SND.NXT            SND.MAX              end of queued data   (FIN at finSeq)
 *     |<- in flight ->|<- being resent ->|<------ unsent ------>|
 *
 * - New data (RFC 9293 §3.8.6.2.1): up to min(SND.WND, cwnd) in flight, full segments of segMss
 *   bytes; a short segment only when it holds all queued data and nothing is in flight (Nagle,
 *   RFC 896, unless noDelay), or when it is at least half the largest window the peer offered
 *   (sender SWS avoidance). The FIN goes on the segment that carries the last queued byte, or
 *   alone after it, and always at finSeq: a retransmitted FIN keeps its sequence number.
 * - RTO (RFC 6298 §5): go back to SND.UNA (BSD's snd_nxt = snd_una), cwnd to one segment
 *   through the congestion controller, RTO doubled, SACK scoreboard cleared (RFC 2018 §8: the
 *   receiver may have reneged). Karn's rule: no RTT sample from a retransmitted segment unless
 *   timestamps tell the transmissions apart (RFC 7323 §4).
 * - Fast recovery: NewReno (RFC 6582) retransmits SND.UNA's segment on entry and on each partial
 *   ACK, inflating cwnd by one segment per further duplicate ACK; with SACK, RFC 6675 §5's loop
 *   sends while cwnd - pipe >= 1 SMSS: first the holes NextSeg rule 1 finds, then new data.
 *   Rules 3 and 4 of NextSeg (rescue retransmissions) are not implemented.
 * - Persist (RFC 9293 §3.8.6.1): data queued, nothing in flight, and the window too small to
 *   send: probe with backoff. The probe is an ACK at SND.UNA - 1 with no data (Linux's form),
 *   which any receiver answers with an ACK carrying its current window.
 * - Keepalive (RFC 9293 §3.8.4): after idleMs without a segment, probes of the same form every
 *   intervalMs; after `probes` unanswered ones, the connection is aborted with ETIMEDOUT.
 */

import { TCP_FLAG_ACK, TCP_FLAG_FIN, TCP_FLAG_PSH, TCP_FLAG_SYN } from '../wire/tcp.js';
import { TcpState } from './contract.js';
import { TCB_MAX_SYN_RETRIES, TcbBase } from './tcb-base.js';
import { seqAdd32, seqDiff, seqGt, seqLe, seqLt } from './seq.js';

export abstract class TcbOutput extends TcbBase {
  /** Sequence number after the last queued byte (the FIN's, once shutdown). */
  dataEnd(): number {
    const sb = this.sendBuf;
    return seqAdd32(sb.una32, sb.length);
  }

  /** States in which queued data and the FIN go out. */
  canSend(): boolean {
    const s = this.state;
    return s === TcpState.Established || s === TcpState.CloseWait || s === TcpState.FinWait1 || s === TcpState.Closing || s === TcpState.LastAck;
  }

  /** Sends what the windows, Nagle and the FIN rule allow. */
  output(now: number): void {
    if (!this.canSend()) return;
    if (this.inRecovery && this.sackOn) {
      this.sackSend(now);
      return;
    }
    const end = this.dataEnd();
    const mss = this.segMss;
    for (;;) {
      const nxt = this.sndNxt;
      let unsent = seqDiff(end, nxt);
      if (unsent < 0) unsent = 0;
      const finLeft = this.finQueued && nxt === this.finSeq;
      if (unsent === 0 && !finLeft) break;
      const flight = seqDiff(nxt, this.sndUna);
      const cw = this.cwnd();
      const wnd = this.sndWnd < cw ? this.sndWnd : cw;
      const usable = wnd - flight;
      let len = unsent < mss ? unsent : mss;
      if (len > usable) len = usable > 0 ? usable : 0;
      const fin = this.finQueued && len === unsent;
      if (len < mss) {
        if (len === unsent) {
          // All that is queued. Nagle: hold a short segment of new data while data is in flight.
          if (len > 0 && !fin && !this.noDelay && flight > 0 && nxt === this.sndMax) break;
          if (len === 0 && !fin) break;
          // A lone FIN needs no window, but a data segment carrying it does (len fits usable).
        } else if (len === 0 || len < this.maxSndWnd >>> 1) {
          break; // window-limited: sender SWS avoidance waits for a useful window
        }
      }
      let flags = TCP_FLAG_ACK;
      if (fin) flags |= TCP_FLAG_FIN;
      if (len > 0 && len === unsent) flags |= TCP_FLAG_PSH;
      if (seqLt(nxt, this.sndMax)) {
        this.statsData.retransmits++;
      } else if (!this.tsOn && !this.rttTiming && len > 0) {
        this.rttTiming = true;
        this.rttSeq = nxt;
        this.rttStartMs = now;
      }
      this.xmit(flags, seqDiff(nxt, this.sndUna), len, now);
      this.sndNxt = seqAdd32(nxt, fin ? len + 1 : len);
      if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
      if (this.rtoAt < 0) this.rtoAt = now + this.rto.rto;
      this.persistAt = -1;
      this.persistBackoff = 0;
      if (fin) break;
    }
    this.armPersistIfStuck(now);
  }

  /** Data queued, nothing in flight and nothing sent: the window is shut (or too small). */
  armPersistIfStuck(now: number): void {
    if (this.persistAt >= 0 || this.sndUna !== this.sndMax || this.sndNxt !== this.sndMax) return;
    if (seqDiff(this.dataEnd(), this.sndNxt) <= 0) return;
    this.persistAt = now + this.persistDelay();
  }

  persistDelay(): number {
    const d = this.rto.rto * 2 ** this.persistBackoff;
    const max = this.rto.maxMs;
    return d < max ? d : max;
  }

  /** RFC 6675 §5 step (C): send while cwnd - pipe >= 1 SMSS, holes first, then new data. */
  sackSend(now: number): void {
    const sb = this.scoreboard;
    const mss = this.segMss;
    const end = this.dataEnd();
    for (let guard = 0; guard < 4096; guard++) {
      if (this.cc.cwnd - this.pipe < mss) break;
      const from = seqLt(this.highRxt, this.sndUna) ? this.sndUna : this.highRxt;
      const s = sb.nextLost(from, this.sndMax, mss);
      if (s >= 0) {
        let len = sb.segLen;
        const data = seqDiff(end, s);
        if (len > data) len = data > 0 ? data : 0;
        const fin = this.finQueued && seqGt(this.sndMax, this.finSeq) && seqAdd32(s, len) === this.finSeq && seqDiff(seqAdd32(s, sb.segLen), this.finSeq) > 0;
        this.xmit(fin ? TCP_FLAG_ACK | TCP_FLAG_FIN : TCP_FLAG_ACK, seqDiff(s, this.sndUna), len, now);
        this.statsData.retransmits++;
        this.highRxt = seqAdd32(s, sb.segLen);
        this.pipe += sb.segLen;
        if (this.rtoAt < 0) this.rtoAt = now + this.rto.rto;
        continue;
      }
      // Rule 2: new data, within the peer's window.
      const nxt = this.sndMax;
      let unsent = seqDiff(end, nxt);
      if (unsent < 0) unsent = 0;
      const usable = seqDiff(seqAdd32(this.sndUna, this.sndWnd), nxt);
      let len = unsent < mss ? unsent : mss;
      if (len > usable) len = usable > 0 ? usable : 0;
      const fin = this.finQueued && len === unsent && seqAdd32(nxt, len) === this.finSeq;
      if (len === 0 && !fin) break;
      if (len < mss && len < unsent) break;
      let flags = TCP_FLAG_ACK;
      if (fin) flags |= TCP_FLAG_FIN;
      if (len > 0 && len === unsent) flags |= TCP_FLAG_PSH;
      this.xmit(flags, seqDiff(nxt, this.sndUna), len, now);
      this.sndMax = this.sndNxt = seqAdd32(nxt, fin ? len + 1 : len);
      this.pipe += len;
      if (this.rtoAt < 0) this.rtoAt = now + this.rto.rto;
      if (fin) break;
    }
  }

  /** Retransmits the segment at SND.UNA (fast retransmit, NewReno partial ACK). */
  retransmitHead(now: number): number {
    const una = this.sndUna;
    let len = seqDiff(this.dataEnd(), una);
    if (len > this.segMss) len = this.segMss;
    if (len < 0) len = 0;
    const fin = this.finQueued && seqGt(this.sndMax, this.finSeq) && seqAdd32(una, len) === this.finSeq;
    if (len === 0 && !fin) return 0;
    this.xmit(fin ? TCP_FLAG_ACK | TCP_FLAG_FIN : TCP_FLAG_ACK, seqDiff(una, this.sndUna), len, now);
    this.statsData.retransmits++;
    // Karn: a sample timed on a segment now resent would be ambiguous.
    if (this.rttTiming && seqLt(this.rttSeq, seqAdd32(una, len + 1))) this.rttTiming = false;
    this.rtoAt = now + this.rto.rto;
    return fin ? len + 1 : len;
  }

  // ------------------------------------------------------------------ timers

  protected override runTimers(now: number): void {
    if (this.twAt >= 0 && this.twAt <= now) {
      this.twAt = -1;
      this.enterClosed(null);
      return;
    }
    if (this.rtoAt >= 0 && this.rtoAt <= now) this.onRto(now);
    if (this.state === TcpState.Closed) return;
    if (this.persistAt >= 0 && this.persistAt <= now) this.onPersist(now);
    if (this.delackAt >= 0 && this.delackAt <= now) {
      this.delackAt = -1;
      if (this.state !== TcpState.SynSent) this.sendAck(now);
    }
    if (this.keepAt >= 0 && this.keepAt <= now) this.onKeepalive(now);
  }

  /** RFC 6298 §5.4-5.7 retransmission timeout. */
  onRto(now: number): void {
    this.rtoAt = -1;
    const st = this.state;
    if (st === TcpState.SynSent || st === TcpState.SynReceived) {
      const limit = this.maxRetries < TCB_MAX_SYN_RETRIES ? this.maxRetries : TCB_MAX_SYN_RETRIES;
      if (++this.retries > limit) {
        if (st === TcpState.SynReceived) this.sendRst(now);
        this.enterClosed('ETIMEDOUT');
        return;
      }
      this.rto.backoff();
      this.rttTiming = false;
      this.statsData.retransmits++;
      this.statsData.rtoTimeouts++;
      this.xmit(st === TcpState.SynSent ? TCP_FLAG_SYN : TCP_FLAG_SYN | TCP_FLAG_ACK, seqDiff(this.iss, this.sndUna), 0, now);
      this.rtoAt = now + this.rto.rto;
      return;
    }
    if (this.sndUna === this.sndMax || st === TcpState.TimeWait || st === TcpState.Closed) return;
    if (++this.retries > this.maxRetries) {
      this.sendRst(now);
      this.enterClosed('ETIMEDOUT');
      return;
    }
    this.statsData.rtoTimeouts++;
    this.rto.backoff();
    this.cc.onRto(seqDiff(this.sndMax, this.sndUna), now);
    this.inRecovery = false;
    this.cwndInflate = 0;
    this.dupAcks = 0;
    this.recover = this.sndMax;
    this.scoreboard.clear();
    this.highRxt = this.sndUna;
    this.rttTiming = false;
    this.sndNxt = this.sndUna;
    this.output(now);
    if (this.sndNxt === this.sndUna) {
      // The window is shut with data outstanding: the persist timer probes it.
      this.persistAt = now + this.persistDelay();
    }
    if (this.rtoAt < 0 && this.sndNxt !== this.sndUna) this.rtoAt = now + this.rto.rto;
  }

  /** Persist timer: probe a shut window, or override sender SWS avoidance on a small one. */
  onPersist(now: number): void {
    this.persistAt = -1;
    if (!this.canSend()) return;
    const unsent = seqDiff(this.dataEnd(), this.sndNxt);
    if (unsent <= 0 && this.sndUna === this.sndMax) return;
    const usable = seqDiff(seqAdd32(this.sndUna, this.sndWnd), this.sndNxt);
    if (usable > 0 && unsent > 0 && this.sndNxt === this.sndMax) {
      // RFC 9293 §3.8.6.2.1: the override timeout sends what the window allows.
      let len = unsent < usable ? unsent : usable;
      if (len > this.segMss) len = this.segMss;
      const fin = this.finQueued && len === unsent;
      this.xmit(fin ? TCP_FLAG_ACK | TCP_FLAG_PSH | TCP_FLAG_FIN : TCP_FLAG_ACK | TCP_FLAG_PSH, seqDiff(this.sndNxt, this.sndUna), len, now);
      this.sndNxt = this.sndMax = seqAdd32(this.sndNxt, fin ? len + 1 : len);
      if (this.rtoAt < 0) this.rtoAt = now + this.rto.rto;
      this.persistBackoff = 0;
      return;
    }
    this.xmit(TCP_FLAG_ACK, -1, 0, now);
    if (this.persistBackoff < 16) this.persistBackoff++;
    this.persistAt = now + this.persistDelay();
  }

  /** RFC 9293 §3.8.4 keepalive probe, or abort after the last one went unanswered. */
  onKeepalive(now: number): void {
    this.keepAt = -1;
    if (!this.keepalive) return;
    const st = this.state;
    if (st !== TcpState.Established && st !== TcpState.CloseWait && st !== TcpState.FinWait2) return;
    if (this.sndUna !== this.sndMax) {
      this.keepAt = now + this.keepIntervalMs; // the RTO watches outstanding data
      return;
    }
    if (this.keepSent >= this.keepProbes) {
      this.sendRst(now);
      this.enterClosed('ETIMEDOUT');
      return;
    }
    this.keepSent++;
    this.xmit(TCP_FLAG_ACK, -1, 0, now);
    this.keepAt = now + this.keepIntervalMs;
  }

  /** True while sequence number `seq` lies in [SND.UNA, SND.MAX]. */
  ackInFlight(seq: number): boolean {
    return seqLe(this.sndUna, seq) && seqLe(seq, this.sndMax);
  }
}
