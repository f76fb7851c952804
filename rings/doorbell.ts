/**
 * Doorbell: how a consumer thread parks while its rings are empty, and how producers wake it.
 *
 *   Int32Array over a small SharedArrayBuffer (one per consumer thread, shared by all the rings
 *   that thread consumes):
 *
 *     [SEQ]       bumped by a producer that found the consumer asleep; the consumer waits on it
 *     [SLEEPING]  1 while the consumer is parked (or about to park)
 *     [WAKEUPS]   how many times a producer had to wake the consumer (a statistic)
 *
 * The protocol (a Dekker-style handshake on sequentially consistent Atomics):
 *
 *   consumer                                   producer
 *   --------                                   --------
 *   Atomics.store(SLEEPING, 1)                 publish (Atomics.store of the ring's HEAD)
 *   s = Atomics.load(SEQ)                      if (compareExchange(SLEEPING, 1, 0) === 1) {
 *   if (any ring has data) cancel and go on        Atomics.add(SEQ, 1); Atomics.notify(SEQ)
 *   else wait(SEQ, s)                          }
 *   Atomics.store(SLEEPING, 0)
 *
 * Either the consumer's re-check sees the producer's HEAD, or the producer sees SLEEPING and
 * bumps SEQ, which makes the wait return at once or wakes it: no lost wake-up, and a producer
 * pays for `notify` (30-60 us of wake-up here) only when the consumer really sleeps.
 *
 * `park` blocks the thread (Atomics.wait): for threads that do nothing else. `parkAsync` uses
 * Atomics.waitAsync, so the thread's event loop (timers, messages) keeps running while it waits:
 * what port workers use. Neither is ever called on the control thread.
 *
 * A consumer that waits on kernel descriptors instead (a TUN or AF_XDP thread blocked in the
 * native addon's poll) cannot be woken by Atomics.notify: it registers an eventfd with
 * `setKickFd`, and a producer that finds it asleep writes to that eventfd through
 * `Doorbell.kicker`, which the native loader installs on every thread that loads the addon.
 */

const noop = (): void => {};

/** Int32 indices inside the doorbell's buffer. */
const SEQ = 0;
const SLEEPING = 1;
const WAKEUPS = 2;
/** The eventfd of a consumer that parks in native code, plus one (0: it parks in Atomics.wait). */
const KICK_FD = 3;
/** Bytes a doorbell occupies (one cache line, so it shares a line with nothing else). */
export const DOORBELL_BYTES = 64;

export class Doorbell {
  /**
   * Wakes a consumer parked in native code by writing to its eventfd. Installed by the native
   * addon's loader (src/native), per thread; null where the addon is not loaded (a producer
   * there falls back to Atomics.notify, and a native waiter then wakes only at its timeout).
   */
  static kicker: ((fd: number) => void) | null = null;

  /** The shared state: pass `sab` (and `byteOffset`) to the producers' threads. */
  readonly sab: SharedArrayBuffer;
  readonly byteOffset: number;
  private readonly cells: Int32Array;

  /** A doorbell in `sab` at `byteOffset` (default: a new buffer of its own). */
  constructor(sab: SharedArrayBuffer = new SharedArrayBuffer(DOORBELL_BYTES), byteOffset = 0) {
    this.sab = sab;
    this.byteOffset = byteOffset;
    this.cells = new Int32Array(sab, byteOffset, DOORBELL_BYTES / 4);
  }

  /**
   * Producer side: wakes the consumer if it is parked. Costs one atomic load when it is not. The
   * producer that finds it asleep clears SLEEPING as it rings, so a burst of publishes (or many
   * rings sharing the doorbell) notifies once per park, not once per publish until the consumer
   * has woken (which takes 25 us or more).
   */
  ring(): void {
    const c = this.cells;
    if (Atomics.load(c, SLEEPING) === 1 && Atomics.compareExchange(c, SLEEPING, 1, 0) === 1) {
      Atomics.add(c, SEQ, 1);
      Atomics.add(c, WAKEUPS, 1);
      const kick = Atomics.load(c, KICK_FD) - 1;
      if (kick >= 0 && Doorbell.kicker !== null) Doorbell.kicker(kick);
      else Atomics.notify(c, SEQ, 1);
    }
  }

  /**
   * Consumer side: this consumer parks in native code, waiting on `fd` (an eventfd) among its
   * descriptors; producers kick it instead of notifying. `null` goes back to Atomics waits.
   */
  setKickFd(fd: number | null): void {
    Atomics.store(this.cells, KICK_FD, fd === null ? 0 : fd + 1);
  }

  /**
   * Consumer side, step 1: announces that the consumer is about to sleep and returns the value to
   * wait on. The consumer must then look at its rings once more before it parks.
   */
  prepare(): number {
    Atomics.store(this.cells, SLEEPING, 1);
    return Atomics.load(this.cells, SEQ);
  }

  /** Consumer side: called instead of parking when the last look found work. */
  cancel(): void {
    Atomics.store(this.cells, SLEEPING, 0);
  }

  /** Consumer side, step 2 (blocking): sleeps until rung or `timeoutMs` passes. */
  park(seq: number, timeoutMs: number): void {
    Atomics.wait(this.cells, SEQ, seq, timeoutMs);
    Atomics.store(this.cells, SLEEPING, 0);
  }

  /** Consumer side, step 2 (event-loop friendly): resolves when rung or after `timeoutMs`. */
  async parkAsync(seq: number, timeoutMs: number): Promise<void> {
    const r = Atomics.waitAsync(this.cells, SEQ, seq, timeoutMs);
    if (r.async) {
      // Node 20 does not count a pending waitAsync as work that keeps a thread alive
      // (nodejs/node#61941): a thread with nothing else to do would exit mid-park. A ref'd timer
      // as long as the wait holds it; parks are rare (only when idle), so its cost does not matter.
      const keepAlive = setTimeout(noop, timeoutMs === Infinity ? 2 ** 31 - 1 : timeoutMs + 1000);
      try {
        await r.value;
      } finally {
        clearTimeout(keepAlive);
      }
    }
    Atomics.store(this.cells, SLEEPING, 0);
  }

  /** Wakes a parked consumer whatever it is waiting for (used to stop it). */
  wake(): void {
    Atomics.add(this.cells, SEQ, 1);
    const kick = Atomics.load(this.cells, KICK_FD) - 1;
    if (kick >= 0 && Doorbell.kicker !== null) Doorbell.kicker(kick);
    Atomics.notify(this.cells, SEQ);
  }

  /** True while the consumer has announced that it parks (between `prepare` and its wake-up). */
  get sleeping(): boolean {
    return Atomics.load(this.cells, SLEEPING) === 1;
  }

  /** How many times producers found the consumer asleep and woke it. */
  get wakeups(): number {
    return Atomics.load(this.cells, WAKEUPS);
  }
}
