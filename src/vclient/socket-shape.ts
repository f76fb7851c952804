/**
 * The net.Socket members that libraries poke at and vtcp's `Conn` does not have yet: `address()`,
 * `remoteFamily`, `connecting`, `pending`, `readyState`, `ref()`, `unref()`, `destroySoon()`
 * (ws failed on a non-net.Socket for want of such members, websockets/ws#2165; node:http reads
 * `connecting`). They are added to `Conn.prototype` once, only where Conn lacks them, so that
 * every Conn (dialled or accepted, by any stack) has them; when conn.ts grows its own, this does
 * nothing. The vtcp owner should move them into conn.ts; this file then goes.
 *
 * `gracefulDestroy` gives the Conns a Client hands out net.Socket's `destroy()` semantics: with no
 * error and nothing left in the stream's write buffer, it is close(2), not an abort: the Tcb
 * closes fully (FIN after the queued data; RST only when unread data is buffered or data comes
 * later, RFC 1122 §4.2.2.13, RFC 2525 §2.17) and finishes on its own, detached from the stream.
 * vtcp's Conn aborts (RST) on every destroy(); node:http and TLS call destroy() after end() on
 * every `Connection: close` exchange, so the peer saw ECONNRESET after a complete response.
 */

import { Conn } from '../vtcp/conn.js';
import { TcpState } from '../vtcp/contract.js';
import type { TcbHooks } from '../vtcp/tcb.js';

let installed = false;

function family(addr: string): 'IPv4' | 'IPv6' | undefined {
  if (addr === '') return undefined;
  return addr.includes(':') ? 'IPv6' : 'IPv4';
}

const members: Record<string, PropertyDescriptor> = {
  address: {
    value(this: Conn): { address: string; family: string; port: number } | Record<string, never> {
      if (this.localAddress === '') return {};
      return { address: this.localAddress, family: family(this.localAddress)!, port: this.localPort };
    },
  },
  remoteFamily: {
    get(this: Conn) {
      return family(this.remoteAddress);
    },
  },
  localFamily: {
    get(this: Conn) {
      return family(this.localAddress);
    },
  },
  connecting: {
    get(this: Conn) {
      return !this.connected && !this.destroyed;
    },
  },
  pending: {
    get(this: Conn) {
      return !this.connected;
    },
  },
  readyState: {
    get(this: Conn) {
      if (!this.connected) return this.destroyed ? 'closed' : 'opening';
      if (this.readable && this.writable) return 'open';
      if (this.readable) return 'readOnly';
      if (this.writable) return 'writeOnly';
      return 'closed';
    },
  },
  ref: {
    value(this: Conn) {
      return this;
    },
  },
  unref: {
    value(this: Conn) {
      return this;
    },
  },
  destroySoon: {
    value(this: Conn) {
      if (this.writable) this.end();
      if (this.writableFinished) this.destroy();
      else this.once('finish', () => this.destroy());
    },
  },
};

const protoDestroy = Conn.prototype._destroy;

/**
 * A `_destroy` with close(2) semantics for the Conns of one owner; `aborting()` true (the owner is
 * closing) makes it the plain abort again.
 */
export function gracefulDestroy(aborting: () => boolean): (this: Conn, err: Error | null, cb: (err?: Error | null) => void) => void {
  return function (this: Conn, err: Error | null, cb: (err?: Error | null) => void): void {
    const tcb = this.tcb;
    if (aborting()) {
      // The owner is closing: reset whatever Conn._destroy leaves running (it lets an orderly
      // close finish on its own, which would keep Tcb timers alive after the stack is closed).
      protoDestroy.call(this, err, cb);
      if (tcb.state !== TcpState.Closed) tcb.abort();
      return;
    }
    if (err !== null || this.writableLength > 0 || tcb.state === TcpState.Closed || tcb.state === TcpState.TimeWait) {
      protoDestroy.call(this, err, cb);
      return;
    }
    this.setTimeout(0); // clears the idle timer
    const onFreed = (tcb.events as TcbHooks).onFreed;
    tcb.events = { onFreed } as TcbHooks; // the Tcb lives on alone; the stream hears no more
    tcb.close();
    cb(null);
  };
}

/** Adds the missing members to Conn.prototype (idempotent). */
export function installSocketShape(): void {
  if (installed) return;
  installed = true;
  const proto = Conn.prototype as unknown as Record<string, unknown>;
  for (const [name, d] of Object.entries(members)) {
    if (name in proto) continue;
    Object.defineProperty(proto, name, { ...d, configurable: true, enumerable: false });
  }
}

/** The members as a type, for users of a shaped Conn. */
export interface SocketShape {
  address(): { address: string; family: string; port: number } | Record<string, never>;
  readonly remoteFamily: 'IPv4' | 'IPv6' | undefined;
  readonly localFamily: 'IPv4' | 'IPv6' | undefined;
  readonly connecting: boolean;
  readonly pending: boolean;
  readonly readyState: 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed';
  ref(): this;
  unref(): this;
  destroySoon(): void;
}

/** A Conn with the net.Socket members above. */
export type VConn = Conn & SocketShape;
