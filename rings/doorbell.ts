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
 */

const noop = (): void => {};

/** Int32 indices inside the doorbell's buffer. */
const SEQ = 0;
const SLEEPING = 1;
const WAKEUPS = 2;
/** Bytes a doorbell occupies (one cache line, so it shares a line with nothing else). */
export const DOORBELL_BYTES = 64;

export class Doorbell {
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
      Atomics.notify(c, SEQ, 1);
    }
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
    Atomics.notify(this.cells, SEQ);
  }

  /** How many times producers found the consumer asleep and woke it. */
  get wakeups(): number {
    return Atomics.load(this.cells, WAKEUPS);
  }
}
