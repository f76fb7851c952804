/**
 * The retransmission timer's value (RFC 6298): the smoothed RTT and its variation from RTT
 * samples, and exponential backoff on timeouts.
 *
 *   first sample R (§2.2):       SRTT <- R, RTTVAR <- R/2
 *   later samples R' (§2.3):     RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|   (first)
 *                                SRTT   <- (1 - alpha) * SRTT + alpha * R'
 *   then:                        RTO <- SRTT + max(G, K * RTTVAR), alpha = 1/8, beta = 1/4, K = 4
 *   §2.4: "Whenever RTO is computed, if it is less than 1 second, then the RTO SHOULD be rounded
 *          up to 1 second." (`minMs`: 1000 by default; Linux and most callers use 200.)
 *   §2.5: "A maximum value MAY be placed on RTO provided it is at least 60 seconds." (`maxMs`)
 *   §5.5: on a timeout, "The host MUST set RTO <- RTO * 2 ("back off the timer")", capped at the
 *         maximum; the backoff holds until a new sample is taken (§5.7 and Karn's algorithm).
 *
 * What is sampled is the caller's business: Karn's rule (RFC 6298 §3: never sample a
 * retransmitted segment) or, with timestamps, every ACK that advances SND.UNA (RFC 7323 §4).
 * Not here: RFC 7323 Appendix G's per-window scaling of alpha and beta (we weigh every sample
 * alike, as Linux does), nor the 3-second fallback of §5.7 after a SYN timeout.
 *
 * All fields are doubles in milliseconds (samples may be fractional); no method allocates.
 */

import { PktRangeError } from '../errors.js';

/**
 * Initial value of fields that hold doubles: a heap number, so that V8 makes them double fields
 * from the start. A field first holding a small integer changes representation at the first
 * fractional store, which deprecates the object's map and deoptimises (or aborts the concurrent
 * optimisation of) the code using it (docs/ARCHITECTURE.md, "V8 rules" 4).
 */
const DOUBLE_FIELD = Number.NaN;

/** RFC 6298 §2 constants. */
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;

export const RTO_DEFAULT_INITIAL_MS = 1000;
export const RTO_DEFAULT_MIN_MS = 1000;
export const RTO_DEFAULT_MAX_MS = 60_000;
export const RTO_DEFAULT_GRANULARITY_MS = 1;

export interface RtoOptions {
  /** RTO before the first sample (RFC 6298 §2.1: 1 s). */
  initialMs?: number;
  /** Lower bound (RFC 6298 §2.4: 1 s; Linux 200 ms). */
  minMs?: number;
  /** Upper bound, also of the backoff (RFC 6298 §2.5: at least 60 s). */
  maxMs?: number;
  /** Clock granularity G. */
  granularityMs?: number;
}

/** RFC 6298 retransmission-timeout estimator. Not safe for reentrant use; one per connection. */
export class RtoEstimator {
  private _rto: number = DOUBLE_FIELD;
  private _srtt: number = DOUBLE_FIELD;
  private _rttvar: number = DOUBLE_FIELD;
  private _backoffs: number = 0;
  readonly initialMs: number = 0;
  readonly minMs: number = 0;
  readonly maxMs: number = 0;
  readonly granularityMs: number = 0;
  /** RTO from the estimate alone, before backoff. */
  private baseRto: number = DOUBLE_FIELD;

  /** @throws PktRangeError when a bound is not positive or minMs > maxMs. */
  constructor(opts: RtoOptions = {}) {
    const initialMs = opts.initialMs ?? RTO_DEFAULT_INITIAL_MS;
    const minMs = opts.minMs ?? RTO_DEFAULT_MIN_MS;
    const maxMs = opts.maxMs ?? RTO_DEFAULT_MAX_MS;
    const granularityMs = opts.granularityMs ?? RTO_DEFAULT_GRANULARITY_MS;
    if (!(minMs > 0) || !(maxMs >= minMs) || !(initialMs > 0) || !(granularityMs >= 0)) {
      throw new PktRangeError(
        `rto: need 0 < minMs <= maxMs, initialMs > 0 and granularityMs >= 0 (got min ${minMs}, max ${maxMs}, initial ${initialMs}, granularity ${granularityMs})`,
      );
    }
    this.initialMs = initialMs;
    this.minMs = minMs;
    this.maxMs = maxMs;
    this.granularityMs = granularityMs;
    this._rto = 0;
    this._srtt = -1;
    this._rttvar = 0;
    this._backoffs = 0;
    this.baseRto = 0;
    this.reset();
  }

  /** The current RTO in ms, backoff applied, within [minMs, maxMs]. */
  get rto(): number {
    return this._rto;
  }
  /** Smoothed RTT in ms; -1 before the first sample. */
  get srtt(): number {
    return this._srtt;
  }
  /** RTT variation in ms; 0 before the first sample. */
  get rttvar(): number {
    return this._rttvar;
  }
  /** Timeouts since the last sample (the backoff exponent). */
  get backoffs(): number {
    return this._backoffs;
  }

  /** Back to the state before any sample: RTO = initialMs (clamped to the bounds). */
  reset(): void {
    this._srtt = -1;
    this._rttvar = 0;
    this._backoffs = 0;
    this.baseRto = this.clamp(this.initialMs);
    this._rto = this.baseRto;
  }

  /** True once a sample has been taken. */
  get hasSample(): boolean {
    return this._srtt >= 0;
  }

  /**
   * Takes an RTT measurement (RFC 6298 §2.2 for the first, §2.3 after) and clears the backoff.
   * A negative or non-finite sample is ignored.
   */
  sample(rttMs: number): void {
    if (!(rttMs >= 0) || rttMs === Infinity) return;
    if (this._srtt < 0) {
      this._srtt = rttMs;
      this._rttvar = rttMs / 2;
    } else {
      // §2.3: "the above SHOULD be computed using alpha=1/8 and beta=1/4": RTTVAR from the
      // old SRTT, then SRTT.
      this._rttvar = (1 - BETA) * this._rttvar + BETA * Math.abs(this._srtt - rttMs);
      this._srtt = (1 - ALPHA) * this._srtt + ALPHA * rttMs;
    }
    const v = K * this._rttvar;
    this.baseRto = this.clamp(this._srtt + (v > this.granularityMs ? v : this.granularityMs));
    this._backoffs = 0;
    this._rto = this.baseRto;
  }

  /** A retransmission timeout fired: RTO doubles (RFC 6298 §5.5), capped at maxMs. */
  backoff(): void {
    this._backoffs++;
    const r = this._rto * 2;
    this._rto = r > this.maxMs ? this.maxMs : r;
  }

  private clamp(ms: number): number {
    return ms < this.minMs ? this.minMs : ms > this.maxMs ? this.maxMs : ms;
  }
}
