/**
 * What the addon's datagram socket wrappers share (IcmpEchoSocket in icmp.ts, UdpSocket in
 * src/udp/socket.ts): waiting for one descriptor to become readable, the receive loop of
 * `start`, and closing while that loop runs.
 *
 * The loop, on the event loop of the thread that owns the socket:
 *
 *   start(handler) ─► recv(handler) until it returns 0, at most 16 batches
 *                 ▲      │
 *                 │      ▼
 *                 └── waitFdsAsync([fd], loopKick) on a libuv pool thread
 *
 * A descriptor must not be closed while a poll on it is in progress (its number could be
 * reused under the poll). So `close` with the loop running only marks the socket closed and
 * kicks `loopKick`; the loop sees it, leaves, and closes the descriptor and the eventfd on its
 * way out. `close` then returns the promise of that.
 *
 * A subclass supplies `recv(handler)` (one batch, returns how many it handed over), the name
 * its errors carry, and `closeNative()`; it reads `isClosed` on its own paths.
 */

import { ClosedError, PktError, PktTypeError } from '../errors.js';
import type * as NetBinding from './binding.js';

type Binding = typeof NetBinding;

/** Batches received per wake of the `start` loop, so a flood cannot starve the event loop. */
const BATCHES_PER_WAKE = 16;

/**
 * A socket of the addon, waited on through its descriptor. Owned by the thread that opened it;
 * not for concurrent use.
 */
export abstract class PolledSocket<H> {
  /** Set by `close()` (or a loop whose handler threw); never cleared. */
  protected isClosed = false;
  private readonly b: Binding;
  /** The class name that errors start with (`UdpSocket`, `IcmpEchoSocket`). */
  private readonly name: string;
  private readonly waitFds = new Int32Array(1);
  private readonly waitReady = new Int32Array(1);
  private loop: Promise<void> | null = null;
  private loopKick = -1;
  private closing: Promise<void> | null = null;

  protected constructor(b: Binding, name: string, fd: number) {
    this.b = b;
    this.name = name;
    this.waitFds[0] = fd;
  }

  /**
   * Receives one batch and hands what arrived to `handler`; returns how many it handed over
   * (0: nothing was waiting).
   */
  abstract recv(handler: H): number;

  /** Closes the native socket (once, when no poll on its descriptor is in progress). */
  protected abstract closeNative(): void;

  /** The descriptor, to wait on with the addon's `waitFds` (-1 once closed). */
  get fd(): number {
    return this.isClosed ? -1 : this.waitFds[0]!;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Blocks this thread until the socket is readable, `kickFd` (an eventfd, see
   * `Doorbell.setKickFd`) is kicked, or `timeoutMs` passes (-1: no limit). For worker threads.
   * Returns true when the socket is readable.
   * @throws {ClosedError} after close.
   */
  wait(timeoutMs: number, kickFd = -1): boolean {
    if (this.isClosed) throw new ClosedError(this.name);
    this.b.waitFds(this.waitFds, kickFd, timeoutMs, this.waitReady);
    return this.waitReady[0] !== 0;
  }

  /**
   * As `wait`, on a libuv pool thread: for threads that must keep their event loop running.
   * @throws {ClosedError} after close.
   */
  async waitAsync(timeoutMs: number, kickFd = -1): Promise<boolean> {
    if (this.isClosed) throw new ClosedError(this.name);
    const r = (await this.b.waitFdsAsync([this.waitFds[0]!], kickFd, timeoutMs)) as number[];
    return r[0] !== 0;
  }

  /**
   * Receives on this thread's event loop until closed: waits with `waitFdsAsync` (holding one
   * libuv pool thread while idle: with several sockets, raise UV_THREADPOOL_SIZE, wait on a
   * worker with `wait`, or for echo sockets use an `IcmpWaiter`), then hands each batch to
   * `handler`. The promise settles when the socket is closed (it rejects with what a handler
   * threw, after closing the socket).
   * @throws {ClosedError} after close; {PktError} ERR_PKT_CONFIG when already started;
   *   {PktTypeError} when `handler` is not a function.
   */
  start(handler: H): Promise<void> {
    if (this.isClosed) throw new ClosedError(this.name);
    if (this.loop !== null) throw new PktError('ERR_PKT_CONFIG', `${this.name}.start: already started`);
    if (typeof handler !== 'function') throw new PktTypeError(`${this.name}.start: handler must be a function`);
    this.loopKick = this.b.eventfdCreate();
    this.loop = this.run(handler);
    return this.loop;
  }

  private async run(handler: H): Promise<void> {
    const fds = [this.waitFds[0]!];
    try {
      while (!this.isClosed) {
        for (let i = 0; i < BATCHES_PER_WAKE && !this.isClosed && this.recv(handler) > 0; i++);
        if (this.isClosed) break;
        await this.b.waitFdsAsync(fds, this.loopKick, -1);
      }
    } catch (err) {
      this.isClosed = true;
      throw err;
    } finally {
      this.closeNative();
      this.b.fdClose(this.loopKick);
      this.loopKick = -1;
    }
  }

  /**
   * Closes the socket. Idempotent. With a `start` loop running it returns a promise that
   * resolves once the loop has stopped and the descriptor is closed (the loop's wait must end
   * before its descriptor may be closed).
   */
  close(): void | Promise<void> {
    if (this.closing !== null) return this.closing;
    if (this.isClosed && this.loop === null) return;
    this.isClosed = true;
    if (this.loop !== null) {
      this.b.eventfdKick(this.loopKick);
      this.closing = this.loop.catch(() => {});
      return this.closing;
    }
    this.closeNative();
  }
}
