/**
 * FdPoller: waits for the descriptors of every standalone device of one thread at once, with the
 * addon's `waitFdsAsync` (poll(2) on a libuv pool thread), so the thread's event loop keeps
 * running while nothing arrives.
 *
 *   thread's event loop                         libuv pool thread
 *   -------------------                         -----------------
 *   loop: await waitFdsAsync([fd…], kick, -1) ---> poll(fd…, kick)
 *         for each ready fd: its callback          (returns when one is readable or kicked)
 *         (the device reads a batch until EAGAIN)
 *   add / remove: kick the eventfd, so the poll returns and starts again with the new set
 *
 * One poller per thread, so that a thread with many devices occupies one pool thread (libuv has
 * four by default, shared with fs and dns), not one per device. While it has descriptors, the
 * pending poll keeps the thread alive, like an open socket does.
 */

import type { TuntapNative } from './native.js';

/** Called when `fd` is ready, with its poll revents (POLLIN = 1, POLLERR = 8, POLLNVAL = 32). */
export type ReadyCallback = (revents: number) => void;

export class FdPoller {
  private readonly n: TuntapNative;
  private readonly entries = new Map<number, ReadyCallback>();
  private kick = -1;
  private running = false;
  /** Resolved when the poll in flight returns (so that a removed fd is no longer watched). */
  private roundWaiters: (() => void)[] = [];

  constructor(n: TuntapNative) {
    this.n = n;
  }

  /** Watches `fd` from now on. */
  add(fd: number, cb: ReadyCallback): void {
    this.entries.set(fd, cb);
    if (this.kick < 0) this.kick = this.n.eventfdCreate();
    if (this.running) this.n.eventfdKick(this.kick);
    else void this.loop();
  }

  /**
   * Stops watching `fd`. Resolves once no poll watches it any more: only then may it be closed
   * (a descriptor closed under a poll could be reused by another open and watched by mistake).
   */
  remove(fd: number): Promise<void> {
    if (!this.entries.delete(fd) || !this.running) return Promise.resolve();
    const p = new Promise<void>((resolve) => this.roundWaiters.push(resolve));
    this.n.eventfdKick(this.kick);
    return p;
  }

  /** Descriptors watched. */
  get size(): number {
    return this.entries.size;
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.entries.size > 0) {
        const fds = [...this.entries.keys()];
        let revents: number[];
        try {
          revents = (await this.n.waitFdsAsync(fds, this.kick, -1)) as number[];
        } catch {
          // poll(2) itself failed (EINTR is retried natively): wait a little and try again.
          revents = [];
          await new Promise((r) => setTimeout(r, 10));
        }
        const waiters = this.roundWaiters;
        this.roundWaiters = [];
        for (const w of waiters) w();
        for (let i = 0; i < fds.length; i++) {
          const r = revents[i] ?? 0;
          if (r === 0) continue;
          const cb = this.entries.get(fds[i]!);
          if (cb !== undefined) cb(r);
        }
      }
    } finally {
      this.running = false;
      const waiters = this.roundWaiters;
      this.roundWaiters = [];
      for (const w of waiters) w();
      if (this.kick >= 0 && this.entries.size === 0) {
        this.n.fdClose(this.kick);
        this.kick = -1;
      }
    }
    // Added while the last round was being handled after the loop decided to stop.
    if (this.entries.size > 0) void this.loop();
  }
}

let threadPoller: FdPoller | null = null;

/** This thread's poller. */
export function poller(n: TuntapNative): FdPoller {
  threadPoller ??= new FdPoller(n);
  return threadPoller;
}
