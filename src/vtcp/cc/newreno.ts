/**
 * NewReno congestion control's window arithmetic (RFC 5681 §3.1, with RFC 6582's recovery driven
 * by the Tcb): slow start and congestion avoidance with appropriate byte counting (RFC 3465),
 * the initial window of RFC 6928, and the reductions on loss and on a retransmission timeout.
 *
 *   init:        cwnd = IW = min(10 * MSS, max(2 * MSS, 14600))          (RFC 6928 §2)
 *   slow start:  cwnd += min(N, L * SMSS), L = 2, per ACK of N new bytes  (RFC 3465 §2.2, RFC 5681 eq. 2)
 *   cong. avoid: bytes_acked += N; when bytes_acked >= cwnd:
 *                bytes_acked -= cwnd, cwnd += SMSS                         (RFC 5681 §3.1, RFC 3465 §2.1)
 *   loss:        ssthresh = max(FlightSize / 2, 2 * SMSS), cwnd = ssthresh (RFC 5681 eq. 4; the Tcb
 *                does the fast-recovery accounting: with SACK, RFC 6675's pipe; without, RFC 6582)
 *   recovery end: cwnd = ssthresh                                          (RFC 6582 §3.2 step 3)
 *   RTO:         ssthresh = max(FlightSize / 2, 2 * SMSS), cwnd = 1 * SMSS (RFC 5681 eq. 4, §3.1 "LW")
 *
 * Not here: RFC 7661's restriction of growth to cwnd-limited periods (cwnd grows on every ACK of
 * new data, as RFC 5681 says), and restarting after idle (RFC 5681 §4.1), which the Tcb can do
 * with `restartAfterIdle`. All sizes are bytes; nothing allocates.
 */

import type { CongestionControl } from '../contract.js';

/**
 * Initial value of fields that hold doubles: a heap number, so that V8 makes them double fields
 * from the start. A field first holding a small integer changes representation at the first
 * fractional store, which deprecates the object's map and deoptimises (or aborts the concurrent
 * optimisation of) the code using it (docs/ARCHITECTURE.md, "V8 rules" 4).
 */
const DOUBLE_FIELD = Number.NaN;

/** RFC 6928 §2: "min (10*MSS, max (2*MSS, 14600))". */
export function initialWindow(mss: number): number {
  const a = 2 * mss > 14600 ? 2 * mss : 14600;
  return 10 * mss < a ? 10 * mss : a;
}

/** RFC 3465 §2.2: the limit L on slow start's increase per ACK, in SMSS. */
export const ABC_L = 2;

export class NewReno implements CongestionControl {
  readonly name = 'newreno' as const;
  private _cwnd: number = 0;
  private _ssthresh: number = DOUBLE_FIELD;
  private mss: number = 0;
  /** RFC 3465's bytes_acked, in congestion avoidance. */
  private bytesAcked: number = 0;

  constructor(mss = 1460, now = 0) {
    this._cwnd = 0;
    this._ssthresh = Infinity;
    this.mss = 0;
    this.bytesAcked = 0;
    this.init(mss, now);
  }

  get cwnd(): number {
    return this._cwnd;
  }

  get ssthresh(): number {
    return this._ssthresh;
  }

  init(mss: number, _now: number): void {
    this.mss = mss;
    this._cwnd = initialWindow(mss);
    this._ssthresh = Infinity;
    this.bytesAcked = 0;
  }

  onAck(ackedBytes: number, _flightBytes: number, _rttMs: number, _now: number): void {
    if (ackedBytes <= 0) return;
    if (this._cwnd < this._ssthresh) {
      const lim = ABC_L * this.mss;
      this._cwnd += ackedBytes < lim ? ackedBytes : lim;
      return;
    }
    this.bytesAcked += ackedBytes;
    if (this.bytesAcked >= this._cwnd) {
      this.bytesAcked -= this._cwnd;
      this._cwnd += this.mss;
    }
  }

  onLoss(flightBytes: number, _now: number): void {
    this._ssthresh = this.reducedSsthresh(flightBytes);
    this._cwnd = this._ssthresh;
    this.bytesAcked = 0;
  }

  onRecoveryEnd(_now: number): void {
    this._cwnd = this._ssthresh;
    this.bytesAcked = 0;
  }

  onRto(flightBytes: number, _now: number): void {
    this._ssthresh = this.reducedSsthresh(flightBytes);
    this._cwnd = this.mss;
    this.bytesAcked = 0;
  }

  /**
   * RFC 5681 §4.1: after an idle period longer than an RTO, "cwnd = min(RW, cwnd)" where RW is
   * the initial window. For the Tcb to call when it sends after idling.
   */
  restartAfterIdle(): void {
    const rw = initialWindow(this.mss);
    if (rw < this._cwnd) this._cwnd = rw;
  }

  /** RFC 5681 eq. 4: ssthresh = max(FlightSize / 2, 2 * SMSS). */
  private reducedSsthresh(flightBytes: number): number {
    const half = Math.floor(flightBytes / 2);
    const min = 2 * this.mss;
    return half > min ? half : min;
  }
}
