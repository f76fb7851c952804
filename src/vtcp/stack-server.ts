/**
 * `TcpServer`: what `TcpStack.listen` returns, shaped like net.Server where it can be: a
 * 'connection' event per accepted Conn, plus a pull interface (`accept()`, `for await`) for code
 * that prefers it. Connections nobody takes wait in a queue bounded by `acceptQueue`; past it
 * they are reset (the listener's own accept queue is drained by the stack at once, so this is
 * the bound the user sees).
 */

import { EventEmitter } from 'node:events';
import { ClosedError } from '../errors.js';
import type { Conn } from './conn.js';
import type { TcbOptions } from './contract.js';

function swallow(): void {}

export interface ListenOptions {
  /** Half-open connections at most (default 128); SYN cookies beyond, per `synCookies`. */
  backlog?: number;
  /** Established connections waiting to be taken at most (default 128). */
  acceptQueue?: number;
  /** 'auto' (default): cookies when the backlog is full; 'always'; 'never'. */
  synCookies?: 'auto' | 'always' | 'never';
  /** Tcb options of this port's connections, over the stack's. */
  tcb?: Omit<TcbOptions, 'clock' | 'random'>;
}

export class TcpServer extends EventEmitter implements AsyncIterable<Conn> {
  readonly port: number;
  private readonly limit: number;
  private readonly queue: Conn[] = [];
  private readonly waiters: { resolve: (c: Conn | null) => void }[] = [];
  private closed = false;
  private readonly onClose: () => void;

  /** @internal Made by TcpStack.listen. */
  constructor(port: number, acceptQueue: number, onClose: () => void) {
    super();
    this.port = port;
    this.limit = acceptQueue;
    this.onClose = onClose;
  }

  /** @internal A new connection: to a waiting accept(), the 'connection' listeners, or the queue. False when refused. */
  offer(conn: Conn): boolean {
    if (this.closed) return false;
    const w = this.waiters.shift();
    if (w !== undefined) {
      w.resolve(conn);
      return true;
    }
    if (this.listenerCount('connection') > 0) {
      this.emit('connection', conn);
      return true;
    }
    if (this.queue.length >= this.limit) return false;
    // Until someone takes it, a reset must not become an unhandled 'error' event.
    conn.on('error', swallow);
    this.queue.push(conn);
    return true;
  }

  /** Connections waiting to be taken. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * The next connection; resolves with null once the server is closed.
   */
  accept(): Promise<Conn | null> {
    const c = this.queue.shift();
    if (c !== undefined) {
      c.off('error', swallow);
      return Promise.resolve(c);
    }
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push({ resolve }));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Conn> {
    for (;;) {
      const c = await this.accept();
      if (c === null) return;
      yield c;
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Stops listening: half-open connections and those not yet taken are reset; connections
   * already taken go on. Emits 'close'. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    for (const c of this.queue.splice(0)) c.destroy();
    for (const w of this.waiters.splice(0)) w.resolve(null);
    this.emit('close');
  }

  /** @throws {ClosedError} (for symmetry with net.Server.address on a closed server). */
  address(): { port: number } {
    if (this.closed) throw new ClosedError('vtcp server');
    return { port: this.port };
  }
}
