/**
 * `Conn`: a node:stream Duplex over a Tcb, shaped like net.Socket: 'connect', 'data', 'end',
 * 'close', 'timeout', `setNoDelay`, `setKeepAlive`, `setTimeout`, and the address fields (strings
 * set by whoever creates it: the Tcb knows no addresses).
 *
 * Back-pressure, both ways:
 *   write side: `_write` hands the chunk to `tcb.write`; what the send buffer does not take is
 *     held with the callback until the Tcb's onDrain, so the stream buffers (and `write()`
 *     returns false) while the TCP send buffer is full.
 *   read side: `_read` pulls from the Tcb only while the stream wants more; bytes left in the
 *     Tcb keep its window closed, and each read that frees enough space sends a window update.
 *
 * `end()` is a half-close (shutdown: FIN after the queued data), `destroy()` an abort (RST).
 * An orderly close ends both directions and the stream closes by itself; a reset or a timeout
 * destroys it with an error whose `code` is ECONNRESET, ECONNREFUSED, ETIMEDOUT or ECONNABORTED.
 *
 * The stream API allocates per chunk (a Buffer per read); the Tcb below it does not.
 */

import { Duplex } from 'node:stream';
import type { TimerHandle } from '../core/clock.js';
import { TcpState } from './contract.js';
import type { Tcb } from './tcb.js';
import type { TcbHooks } from './tcb-base.js';

/** Largest Buffer handed to 'data' at once. */
const READ_CHUNK = 64 * 1024;

/** The error a Conn is destroyed with when its connection fails. */
export class ConnError extends Error {
  readonly code: string;
  constructor(code: string) {
    super(`vtcp: connection ${code === 'ECONNRESET' ? 'reset by peer' : code === 'ECONNREFUSED' ? 'refused' : code === 'ETIMEDOUT' ? 'timed out' : 'aborted'} (${code})`);
    this.name = 'ConnError';
    this.code = code;
  }
}

export interface ConnOptions {
  /** As net.Socket's: false (default) ends the writable side when the peer's FIN arrives. */
  allowHalfOpen?: boolean;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
}

export class Conn extends Duplex {
  readonly tcb: Tcb;
  remoteAddress = '';
  remotePort = 0;
  localAddress = '';
  localPort = 0;
  /** True once the handshake completed. */
  connected = false;
  private wanting = false;
  private peerEnded = false;
  private pushedEnd = false;
  private pendingChunk: Buffer | null = null;
  private pendingOff = 0;
  private pendingCb: ((err?: Error | null) => void) | null = null;
  private timeoutMs = 0;
  private timer: TimerHandle | null = null;
  private lastActive = 0;
  private readonly onTimerFn = (): void => this.onTimer();

  /**
   * Wraps `tcb` and takes over its events (keeping an `onFreed` already there). For an active open, call `tcb.connect(...)` after
   * this (or before: a Tcb already established emits 'connect' on the next tick).
   */
  constructor(tcb: Tcb, opts: ConnOptions = {}) {
    super({ allowHalfOpen: opts.allowHalfOpen ?? false, readableHighWaterMark: opts.readableHighWaterMark, writableHighWaterMark: opts.writableHighWaterMark, decodeStrings: true });
    this.tcb = tcb;
    this.localPort = tcb.localPort;
    this.remotePort = tcb.remotePort;
    const hooks: TcbHooks = {
      onEstablished: () => this.onEstablished(),
      onReadable: () => this.pullSoon(),
      onEnd: () => {
        this.peerEnded = true;
        this.pull();
      },
      onDrain: () => this.continueWrite(),
      onClose: (reason) => this.onTcbClose(reason),
      // Whoever owns the Tcb's table (a TcpStack) keeps hearing when it is freed for good.
      onFreed: (tcb.events as TcbHooks).onFreed,
    };
    tcb.events = hooks;
    const s = tcb.state;
    if (s !== TcpState.SynSent && s !== TcpState.SynReceived && s !== TcpState.Closed) {
      if (tcb.peerFinReceived) this.peerEnded = true;
      process.nextTick(() => this.onEstablished());
    }
  }

  private onEstablished(): void {
    if (this.connected) return;
    this.connected = true;
    this.localPort = this.tcb.localPort;
    this.remotePort = this.tcb.remotePort;
    this.touch();
    this.emit('connect');
    this.emit('ready');
    this.pull();
  }

  /**
   * Segments arrive in batches (a TUN read, a ring drain): reading after the batch, not after
   * each segment, hands the stream one chunk instead of one per segment, so that a consumer
   * writing to a real socket (a proxy) makes one system call, not one per 1460 bytes.
   */
  private pullSoon(): void {
    if (this.pullQueued) return;
    this.pullQueued = true;
    queueMicrotask(this.pullTask);
  }

  private pullQueued = false;
  private readonly pullTask = (): void => {
    this.pullQueued = false;
    this.pull();
  };

  /** Moves readable bytes into the stream while it wants them. */
  private pull(): void {
    const tcb = this.tcb;
    while (this.wanting && tcb.readable > 0) {
      const n = tcb.readable < READ_CHUNK ? tcb.readable : READ_CHUNK;
      const buf = Buffer.allocUnsafe(n);
      const got = tcb.read(buf, 0, n);
      this.touch();
      this.wanting = this.push(got === n ? buf : buf.subarray(0, got));
    }
    if (this.peerEnded && tcb.readable === 0 && !this.pushedEnd) {
      this.pushedEnd = true;
      this.push(null);
    }
  }

  override _read(_size: number): void {
    this.wanting = true;
    this.pull();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pendingChunk = chunk;
    this.pendingOff = 0;
    this.pendingCb = cb;
    this.continueWrite();
  }

  private continueWrite(): void {
    const chunk = this.pendingChunk;
    if (chunk === null) return;
    const tcb = this.tcb;
    if (tcb.state === TcpState.Closed || tcb.finQueued) {
      this.finishWrite(new ConnError(tcb.closeReason ?? 'ECONNABORTED'));
      return;
    }
    const n = tcb.write(chunk, this.pendingOff, chunk.length - this.pendingOff);
    this.pendingOff += n;
    if (n > 0) this.touch();
    if (this.pendingOff >= chunk.length) this.finishWrite(null);
  }

  private finishWrite(err: Error | null): void {
    const cb = this.pendingCb;
    this.pendingChunk = null;
    this.pendingCb = null;
    cb?.(err);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.tcb.shutdown();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.clearIdleTimer();
    // As closing a kernel socket: once our FIN is queued (end() has finished) and nothing went
    // wrong, the connection closes in order on its own (LAST-ACK, TIME-WAIT: the stack keeps
    // running the Tcb); otherwise (an error, or data never ended) it is reset. autoDestroy
    // destroys a Conn whose two sides have ended, and must not turn that into a reset.
    const orderly = err === null && this.writableFinished;
    if (!orderly && this.tcb.state !== TcpState.Closed && this.tcb.state !== TcpState.TimeWait) this.tcb.abort();
    if (this.pendingCb !== null) this.finishWrite(err ?? new ConnError('ECONNABORTED'));
    cb(err);
  }

  private onTcbClose(reason: string | null): void {
    this.clearIdleTimer();
    if (reason !== null) {
      if (!this.destroyed) this.destroy(new ConnError(reason));
      return;
    }
    // Orderly: the read side ends through pull(); the write side finished with end().
    this.peerEnded = true;
    this.pull();
  }

  /** Nagle off (true, the default argument) or on. */
  setNoDelay(noDelay = true): this {
    this.tcb.setNoDelay(noDelay);
    return this;
  }

  /** Keepalive probes after `initialDelayMs` of idleness (the Tcb's idle time when 0). */
  setKeepAlive(enable = false, initialDelayMs = 0): this {
    this.tcb.setKeepAlive(enable, initialDelayMs > 0 ? initialDelayMs : undefined);
    return this;
  }

  /** Emits 'timeout' after `ms` without reads or writes (0 turns it off), as net.Socket does. */
  setTimeout(ms: number, cb?: () => void): this {
    this.timeoutMs = ms;
    if (cb !== undefined) {
      if (ms === 0) this.removeListener('timeout', cb);
      else this.once('timeout', cb);
    }
    this.clearIdleTimer();
    if (ms > 0) {
      this.touch();
      this.timer = this.tcb.clock.setTimer(this.onTimerFn, ms);
    }
    return this;
  }

  private touch(): void {
    this.lastActive = this.tcb.clock.now();
  }

  private clearIdleTimer(): void {
    if (this.timer !== null) {
      this.tcb.clock.clearTimer(this.timer);
      this.timer = null;
    }
  }

  private onTimer(): void {
    this.timer = null;
    if (this.timeoutMs <= 0 || this.destroyed) return;
    const idle = this.tcb.clock.now() - this.lastActive;
    if (idle >= this.timeoutMs) {
      this.emit('timeout');
      this.lastActive = this.tcb.clock.now();
      this.timer = this.tcb.clock.setTimer(this.onTimerFn, this.timeoutMs);
    } else {
      this.timer = this.tcb.clock.setTimer(this.onTimerFn, this.timeoutMs - idle);
    }
  }
}
