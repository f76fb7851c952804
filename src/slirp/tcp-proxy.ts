/**
 * One proxied TCP connection: a vtcp `Conn` (the virtual side) joined to a `net.Socket` (the real
 * side), bytes both ways with back-pressure in both directions, half-close carried across, and a
 * reset on either side turned into a reset on the other.
 *
 *   virtual host ──TCP──► vtcp Tcb ─► Conn ──pipe──► net.Socket ──► real peer
 *                 ◄─────── Tcb ◄──── Conn ◄──pipe── net.Socket ◄──
 *
 * Back-pressure: `pipe` pauses its source when the destination's write returns false. When the
 * real socket's write buffer is full the Conn stops being read, the Tcb's receive buffer fills
 * and its window closes on the virtual host; when the Tcb's send buffer is full the socket is
 * paused and the kernel's receive window closes on the real peer. Bytes held here per flow are
 * bounded by the stream high-water marks plus the Tcb's buffers (`buffered` reports the streams').
 *
 * Half-close: both sides run with allowHalfOpen, so a FIN from one side ends the other's writable
 * side only (`pipe` calls end()), and the flow is gone once both are closed.
 */

import type { Socket } from 'node:net';
import type { Conn } from '../vtcp/conn.js';

export interface ProxyCounters {
  bytesToReal: number;
  bytesFromReal: number;
  resetsFromVirtual: number;
  resetsFromReal: number;
}


export class TcpProxy {
  readonly conn: Conn;
  readonly sock: Socket;
  private done = false;
  private readonly onGone: (p: TcpProxy) => void;

  constructor(conn: Conn, sock: Socket, counters: ProxyCounters, onGone: (p: TcpProxy) => void) {
    this.conn = conn;
    this.sock = sock;
    this.onGone = onGone;
    conn.on('data', (d: Buffer) => {
      counters.bytesToReal += d.length;
    });
    sock.on('data', (d: Buffer) => {
      counters.bytesFromReal += d.length;
    });
    conn.on('error', () => {
      // The virtual side reset (or timed out): reset the real side too.
      counters.resetsFromVirtual++;
      resetSocket(sock);
    });
    sock.on('error', () => {
      counters.resetsFromReal++;
      if (!conn.destroyed) conn.destroy();
    });
    conn.on('close', () => this.closed());
    sock.on('close', () => this.closed());
    conn.pipe(sock);
    sock.pipe(conn);
    sock.resume();
  }

  /** Bytes waiting in the streams of this flow (the Tcbs' own buffers not included). */
  get buffered(): number {
    return this.conn.readableLength + this.conn.writableLength + this.sock.readableLength + this.sock.writableLength;
  }

  private closed(): void {
    if (this.done) return;
    // The flow is gone once both ends are (a reset of one destroys the other in 'error' above).
    if (!this.conn.closed || !this.sock.closed) return;
    this.done = true;
    this.onGone(this);
  }

  /** Aborts both sides (RST to the virtual host and the real peer). */
  abort(): void {
    resetSocket(this.sock);
    if (!this.conn.destroyed) this.conn.destroy();
  }
}

/**
 * Resets a socket (RST to the real peer), or closes it when a reset cannot be made: libuv's
 * uv_tcp_close_reset refuses (EINVAL) while the socket's shutdown is still pending, that is,
 * after `end()` (a FIN from the virtual side, carried across by `pipe`) and before the kernel
 * took it, which lasts while writes are queued. Node then reports the error but has already
 * dropped its reference to the handle, which stays open, and keeps the event loop alive, until
 * the real peer closes: the leak a keep-alive server showed after Stack.close().
 */
function resetSocket(sock: Socket): void {
  if (sock.destroyed) return;
  if (sock.writableEnded && !sock.writableFinished) sock.destroy();
  else sock.resetAndDestroy();
}
