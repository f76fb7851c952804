/**
 * Time for WireGuard's packet paths without a clock read per packet, and the retransmit jitter.
 *
 * Reading the clock allocates: performance.now() (and Date.now()) return a HeapNumber, 16 bytes
 * a call (measured on Node 20), and a fractional ms passed to a call that is not inlined is
 * boxed again. So the data path reads a Float64Array cell, refreshed from the clock on the
 * first packet after a quiet spell and then at most every `tickMs` while traffic flows (a
 * one-shot timer, re-armed by the next packet: nothing runs while idle). Ages on the data path
 * are late by at most `tickMs`; handshakes and timers call `sync()`, which reads the clock.
 */

import type { Clock, TimerHandle } from '../core/clock.js';
import { REKEY_TIMEOUT_JITTER_MAX_MS } from './constants.js';

export class CoarseTime {
  /** ms on the clock's scale; read it inline (`cell[0]`), never through a call. */
  readonly cell = new Float64Array(1);
  readonly clock: Clock;
  readonly tickMs: number;
  #tick: TimerHandle | null = null;
  readonly #onTick = (): void => {
    this.#tick = null;
  };

  constructor(clock: Clock, tickMs = 50) {
    this.clock = clock;
    this.tickMs = tickMs;
    this.cell[0] = clock.now();
  }

  /** Per packet: reads the clock only when no tick is pending (then arms one). */
  refresh(): void {
    if (this.#tick !== null) return;
    this.cell[0] = this.clock.now();
    this.#tick = this.clock.setTimer(this.#onTick, this.tickMs);
  }

  /** Cold paths: reads the clock into the cell and returns it. */
  sync(): number {
    const now = this.clock.now();
    this.cell[0] = now;
    return now;
  }

  /** Cancels the pending tick (device closed). */
  stop(): void {
    if (this.#tick !== null) this.clock.clearTimer(this.#tick);
    this.#tick = null;
  }
}

/**
 * REKEY_TIMEOUT jitter, uniform in [0, 334) ms. Drawn per data packet in ping-pong traffic (the
 * new-handshake timer is re-armed after every reply), so it is xorshift32 seeded once from the
 * device's random source rather than a crypto call per draw (randomFillSync allocates). Timing
 * jitter, not a secret.
 */
export class Jitter {
  #state: number;

  constructor(random: (b: Uint8Array) => void) {
    const b = new Uint8Array(4);
    random(b);
    this.#state = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) | 1;
  }

  next(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x;
    return ((x >>> 0) % REKEY_TIMEOUT_JITTER_MAX_MS) | 0;
  }
}
