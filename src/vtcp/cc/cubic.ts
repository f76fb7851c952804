/**
 * CUBIC congestion control (RFC 9438), with the window in bytes and time in the caller's ms.
 *
 *   W_cubic(t) = C * (t - K)^3 + W_max                         (§4.2 eq. 1; segments, seconds)
 *   K = cbrt((W_max - cwnd_epoch) / C)                         (§4.2 eq. 2)
 *   target = clamp(W_cubic(t + RTT), cwnd, 1.5 * cwnd)         (§4.2)
 *   per ACK:  cwnd += (target - cwnd) / cwnd per SMSS acked    (§4.4, §4.5)
 *   W_est += alpha_cubic * segments_acked / cwnd, alpha_cubic = 3 (1 - beta) / (1 + beta) until
 *   W_est >= cwnd_prior, then 1; if W_cubic(t) < W_est: cwnd = W_est (Reno-friendly, §4.3)
 *   congestion event: cwnd_prior = cwnd, W_max = cwnd, or cwnd * (1 + beta) / 2 when below the
 *   previous W_max (fast convergence, §4.7); ssthresh = max(flight * beta, 2 SMSS), cwnd = ssthresh (§4.6)
 *   timeout: ssthresh likewise, cwnd = 1 SMSS; the next congestion-avoidance stage starts with
 *   K = 0 and W_max = its own cwnd (§4.8)
 *   C = 0.4, beta = 0.7 (§5.1, §5.2)
 *
 * t counts from the start of the congestion-avoidance stage (the epoch): the first ACK in
 * congestion avoidance after slow start, recovery or a timeout, where cwnd_epoch = cwnd,
 * W_est = cwnd_epoch and K is computed. Slow start is NewReno's (RFC 5681 with RFC 3465 L = 2;
 * HyStart++, RFC 9406, is not implemented). Not here either: §4.2's cwnd-limited check (RFC 7661)
 * and §4.9's spurious-loss undo. The window is kept as a double (the per-ACK increments are
 * fractions of a byte); `cwnd` reads it rounded down. Nothing allocates.
 */

import type { CongestionControl } from '../contract.js';
import { ABC_L, initialWindow } from './newreno.js';

/**
 * Initial value of fields that hold doubles: a heap number, so that V8 makes them double fields
 * from the start. A field first holding a small integer changes representation at the first
 * fractional store, which deprecates the object's map and deoptimises (or aborts the concurrent
 * optimisation of) the code using it (docs/ARCHITECTURE.md, "V8 rules" 4).
 */
const DOUBLE_FIELD = Number.NaN;

/** RFC 9438 §5.1: "C SHOULD be set to 0.4." */
export const CUBIC_C = 0.4;
/** RFC 9438 §5.2 (beta_cubic): "β_cubic SHOULD be set to 0.7". */
export const CUBIC_BETA = 0.7;
/** RFC 9438 §4.3: alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic). */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

/** RFC 9438 eq. 1: W_cubic(t) in segments, t and K in seconds, W_max in segments. */
export function cubicWindow(tSec: number, kSec: number, wMaxSeg: number): number {
  const d = tSec - kSec;
  return CUBIC_C * d * d * d + wMaxSeg;
}

/** RFC 9438 eq. 2: K in seconds, windows in segments (0 when cwnd_epoch >= W_max). */
export function cubicK(wMaxSeg: number, cwndEpochSeg: number): number {
  return wMaxSeg > cwndEpochSeg ? Math.cbrt((wMaxSeg - cwndEpochSeg) / CUBIC_C) : 0;
}

export interface CubicOptions {
  /** RFC 9438 §4.7 fast convergence (default true). */
  fastConvergence?: boolean;
}

export class Cubic implements CongestionControl {
  readonly name = 'cubic' as const;
  readonly fastConvergence: boolean;
  private mss: number = 0;
  private cwndBytes: number = DOUBLE_FIELD;
  private _ssthresh: number = DOUBLE_FIELD;
  /** W_max in bytes (0: none yet). */
  private _wMax: number = DOUBLE_FIELD;
  /** cwnd before the last reduction, bytes. */
  private _cwndPrior: number = DOUBLE_FIELD;
  /** Start of the current epoch in ms; -1: none (the next ACK in congestion avoidance opens one). */
  private _epochStart: number = DOUBLE_FIELD;
  private _k: number = DOUBLE_FIELD;
  private _cwndEpoch: number = DOUBLE_FIELD;
  /** W_est in bytes. */
  private _wEst: number = DOUBLE_FIELD;
  /** The latest RTT sample in ms (0 until one). */
  private rttMs: number = DOUBLE_FIELD;
  /** The last reduction was a timeout (§4.8 for the next epoch). */
  private afterRto: boolean;

  constructor(mss = 1460, now = 0, opts: CubicOptions = {}) {
    this.fastConvergence = opts.fastConvergence ?? true;
    this.mss = 0;
    this.cwndBytes = 0;
    this._ssthresh = Infinity;
    this._wMax = 0;
    this._cwndPrior = 0;
    this._epochStart = -1;
    this._k = 0;
    this._cwndEpoch = 0;
    this._wEst = 0;
    this.rttMs = 0;
    this.afterRto = false;
    this.init(mss, now);
  }

  get cwnd(): number {
    return Math.floor(this.cwndBytes);
  }
  get ssthresh(): number {
    return this._ssthresh;
  }
  /** W_max in bytes (0 before the first congestion event). */
  get wMax(): number {
    return this._wMax;
  }
  /** K of the current epoch, seconds. */
  get k(): number {
    return this._k;
  }
  /** W_est (Reno-friendly estimate) in bytes. */
  get wEst(): number {
    return this._wEst;
  }
  /** cwnd at the start of the current epoch, bytes. */
  get cwndEpoch(): number {
    return this._cwndEpoch;
  }
  /** cwnd before the last reduction, bytes. */
  get cwndPrior(): number {
    return this._cwndPrior;
  }
  /** When the current epoch began (ms), -1 when none is open. */
  get epochStart(): number {
    return this._epochStart;
  }

  init(mss: number, _now: number): void {
    this.mss = mss;
    this.cwndBytes = initialWindow(mss);
    this._ssthresh = Infinity;
    this._wMax = 0;
    this._cwndPrior = 0;
    this._epochStart = -1;
    this._k = 0;
    this._cwndEpoch = 0;
    this._wEst = 0;
    this.rttMs = 0;
    this.afterRto = false;
  }

  onAck(ackedBytes: number, _flightBytes: number, rttMs: number, now: number): void {
    if (ackedBytes <= 0) return;
    if (rttMs >= 0) this.rttMs = rttMs;
    const mss = this.mss;
    if (this.cwndBytes < this._ssthresh) {
      const lim = ABC_L * mss;
      this.cwndBytes += ackedBytes < lim ? ackedBytes : lim;
      return;
    }
    if (this._epochStart < 0) this.startEpoch(now);
    const cwndSeg = this.cwndBytes / mss;
    const ackedSeg = ackedBytes / mss;
    const wMaxSeg = this._wMax / mss;
    const t = (now - this._epochStart) / 1000;
    // §4.3: the Reno-friendly estimate.
    const alpha = this._wEst >= this._cwndPrior ? 1 : CUBIC_ALPHA;
    this._wEst += (alpha * ackedSeg * mss) / cwndSeg;
    if (cubicWindow(t, this._k, wMaxSeg) * mss < this._wEst) {
      if (this._wEst > this.cwndBytes) this.cwndBytes = this._wEst;
      return;
    }
    // §4.4, §4.5: towards W_cubic one RTT ahead, at most 1.5 cwnd.
    let target = cubicWindow(t + this.rttMs / 1000, this._k, wMaxSeg);
    if (target < cwndSeg) target = cwndSeg;
    else if (target > 1.5 * cwndSeg) target = 1.5 * cwndSeg;
    this.cwndBytes += ((target - cwndSeg) / cwndSeg) * ackedSeg * mss;
  }

  private startEpoch(now: number): void {
    this._epochStart = now;
    const cwnd = this.cwndBytes;
    this._cwndEpoch = cwnd;
    this._wEst = cwnd;
    if (this.afterRto || this._wMax <= cwnd) {
      // §4.8 after a timeout, or no W_max above us (left slow start without loss): the curve
      // starts here, in its convex part.
      this._wMax = cwnd;
      this._k = 0;
      this.afterRto = false;
    } else {
      this._k = cubicK(this._wMax / this.mss, cwnd / this.mss);
    }
  }

  /** §4.6, §4.7: the congestion event's W_max, cwnd_prior and ssthresh. */
  private reduce(flightBytes: number): void {
    const cwnd = this.cwndBytes;
    this._cwndPrior = cwnd;
    this._wMax = this.fastConvergence && cwnd < this._wMax ? (cwnd * (1 + CUBIC_BETA)) / 2 : cwnd;
    const ss = Math.floor(flightBytes * CUBIC_BETA);
    const min = 2 * this.mss;
    this._ssthresh = ss > min ? ss : min;
    this._epochStart = -1;
  }

  onLoss(flightBytes: number, _now: number): void {
    this.reduce(flightBytes);
    this.cwndBytes = this._ssthresh;
    this.afterRto = false;
  }

  onRecoveryEnd(_now: number): void {
    this.cwndBytes = this._ssthresh;
    this._epochStart = -1;
  }

  onRto(flightBytes: number, _now: number): void {
    this.reduce(flightBytes);
    this.cwndBytes = this.mss;
    this.afterRto = true;
  }
}
