/**
 * Time, injected. Engines never read the wall clock or arm timers themselves: they take a
 * `Clock`, so that tests drive time by hand (`ManualClock`) and run deterministically, as
 * smoltcp passes `Instant`s. Times are milliseconds on a monotonic scale.
 *
 * Engines read `now()` once per batch or per timer, never once per packet (the Go L2Hub calls
 * time.Now() per frame; pktkit's hubs keep a coarse time updated by a periodic timer instead).
 */

/** An armed timer; pass it back to `clearTimer`. */
export interface TimerHandle {
  readonly __timer: true;
}

export interface Clock {
  /** Milliseconds on a monotonic scale (not the Unix epoch). */
  now(): number;
  /** Calls `fn` once after `delayMs`. Timers never keep the process alive. */
  setTimer(fn: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer; a no-op for one that already ran or was cancelled. */
  clearTimer(handle: TimerHandle): void;
}

/** The real clock: `performance.now()` and unref'd `setTimeout`s. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(fn, delayMs) {
    const t = setTimeout(fn, delayMs);
    t.unref();
    return t as unknown as TimerHandle;
  },
  clearTimer(handle) {
    clearTimeout(handle as unknown as NodeJS.Timeout);
  },
};

interface ManualTimer extends TimerHandle {
  at: number;
  seq: number;
  fn: (() => void) | null;
}

/**
 * A clock for tests: time moves only when `advance` or `set` is called, and due timers run in
 * order of their due time (ties in the order they were armed), each seeing `now()` equal to its
 * own due time. Timers armed while advancing run in the same advance if they fall due.
 */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, delayMs: number): TimerHandle {
    const timer = { __timer: true as const, at: this.t + Math.max(0, delayMs), seq: this.seq++, fn };
    this.timers.push(timer);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    const timer = handle as ManualTimer;
    timer.fn = null;
    const i = this.timers.indexOf(timer);
    if (i !== -1) this.timers.splice(i, 1);
  }

  /** Number of armed timers (for leak checks in tests). */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): void {
    this.set(this.t + ms);
  }

  /** Moves time forward to `target`, running every timer that falls due on the way. */
  set(target: number): void {
    for (;;) {
      let next: ManualTimer | null = null;
      for (const timer of this.timers) {
        if (timer.at <= target && (next === null || timer.at < next.at || (timer.at === next.at && timer.seq < next.seq))) next = timer;
      }
      if (next === null) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.t = Math.max(this.t, next.at);
      const fn = next.fn;
      next.fn = null;
      fn?.();
    }
    this.t = Math.max(this.t, target);
  }
}
