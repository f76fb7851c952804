/**
 * `UdpSocket`: a UDP socket of a vclient `Client`, shaped like a node:dgram Socket where it can be:
 * `bind(port?)`, `send(msg, port, address, cb?)`, `connect(port, address)`, 'message' events
 * with an rinfo, 'listening', 'close', `address()`, `close()`.
 *
 *   Client.send(packet) ─► UDP demux by local port ─► socket.deliver(copy) ─► queue (bounded)
 *                                                           └─ microtask ─► 'message'(msg, rinfo)
 *   socket.send(msg) ─► Client.sendUdp ─► IPv4/IPv6 + UDP header and checksum ─► client handler
 *
 * Delivery is asynchronous, as with dgram: a datagram is copied out of the borrowed packet and
 * queued, and the queue is emptied in a microtask. The queue is bounded (`maxQueued` datagrams):
 * past it datagrams are dropped and counted (`drops`), as a kernel socket's receive buffer does;
 * the Go original's queue had no bound.
 *
 * A socket is dual-stack: it receives IPv4 and IPv6 datagrams sent to its port (the table is
 * keyed by port only, as in the Go vclient); `type` ('udp4' / 'udp6') only picks the family of
 * host names it resolves. Not supported: broadcast and multicast options, sendmsg ancillary data,
 * ref/unref semantics (a virtual socket never keeps the process alive; both are no-ops).
 */

import { EventEmitter } from 'node:events';
import { ClosedError, PktError, intInRange } from '../errors.js';
import { IpAddr } from '../wire/addr.js';

/** Where a datagram came from, as dgram's rinfo. */
export interface RemoteInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

/** What a socket needs from its Client. @internal */
export interface UdpHost {
  bindUdp(sock: UdpSocket, port: number): number;
  unbindUdp(port: number): void;
  sendUdp(srcPort: number, dst: IpAddr, dstPort: number, data: Uint8Array): void;
  resolveHost(host: string, family: 4 | 6): Promise<IpAddr>;
}

export interface UdpSocketOptions {
  type?: 'udp4' | 'udp6';
  /** Datagrams waiting for delivery at most (default 256); more are dropped and counted. */
  maxQueued?: number;
}

type SendCallback = (err: Error | null, bytes?: number) => void;

interface Queued {
  data: Buffer;
  rinfo: RemoteInfo;
}

export class UdpSocket extends EventEmitter {
  readonly type: 'udp4' | 'udp6';
  /** Datagrams dropped because the queue was full. */
  drops = 0;
  /** Datagrams delivered. */
  received = 0;
  private readonly host: UdpHost;
  private readonly maxQueued: number;
  private port = 0;
  private closed = false;
  private queue: Queued[] = [];
  private scheduled = false;
  private remote: { addr: IpAddr; text: string; port: number } | null = null;
  private readonly drain = (): void => this.deliverQueued();

  /** @internal Made by `Client.udp()`. */
  constructor(host: UdpHost, opts: UdpSocketOptions = {}) {
    super();
    this.host = host;
    this.type = opts.type ?? 'udp4';
    this.maxQueued = intInRange('maxQueued', opts.maxQueued ?? 256, 1, 1 << 20);
  }

  /**
   * Takes `port` (0 or absent: an ephemeral one). Emits 'listening' on the next tick.
   * @throws {PktError} code ERR_PKT_CONFIG when the port is taken, ERR_PKT_LIMIT when the
   *   Client's socket table is full; {ClosedError} after close().
   */
  bind(port = 0, cb?: () => void): this {
    if (this.closed) throw new ClosedError('vclient udp socket');
    if (this.port !== 0) throw new PktError('ERR_PKT_CONFIG', `vclient: udp socket already bound to port ${this.port}`);
    intInRange('port', port, 0, 65535);
    this.port = this.host.bindUdp(this, port);
    if (cb !== undefined) this.once('listening', cb);
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  /** Only datagrams from `address`:`port` are delivered, and `send` may leave out the destination. */
  connect(port: number, address: string): this {
    intInRange('port', port, 1, 65535);
    const addr = IpAddr.parse(address);
    this.remote = { addr, text: addr.toString(), port };
    if (this.port === 0) this.bind(0);
    return this;
  }

  /** The bound address: the port, with the unspecified address of the socket's type. */
  address(): { address: string; family: 'IPv4' | 'IPv6'; port: number } {
    if (this.port === 0) throw new PktError('ERR_PKT_CONFIG', 'vclient: udp socket is not bound');
    return this.type === 'udp4' ? { address: '0.0.0.0', family: 'IPv4', port: this.port } : { address: '::', family: 'IPv6', port: this.port };
  }

  /** The bound port (0 before bind). */
  get localPort(): number {
    return this.port;
  }

  /**
   * Sends `msg` to `address`:`port` (a literal address, or a name the Client resolves), binding
   * an ephemeral port first if needed. Errors go to `cb` when given, else to an 'error' event.
   * A literal destination is sent before `send` returns.
   */
  send(msg: Uint8Array | string, port?: number, address?: string, cb?: SendCallback): void {
    const data = typeof msg === 'string' ? Buffer.from(msg) : msg;
    const fail = (err: Error): void => {
      if (cb !== undefined) process.nextTick(cb, err);
      else process.nextTick(() => this.emit('error', err));
    };
    try {
      if (this.closed) throw new ClosedError('vclient udp socket');
      let dstPort: number;
      let dstHost: string;
      if (port === undefined || address === undefined) {
        if (this.remote === null) throw new PktError('ERR_PKT_CONFIG', 'vclient: udp send without a destination on an unconnected socket');
        dstPort = this.remote.port;
        dstHost = this.remote.text;
      } else {
        dstPort = intInRange('port', port, 1, 65535);
        dstHost = address;
      }
      if (this.port === 0) this.bind(0);
      let lit: IpAddr | null = null;
      try {
        lit = IpAddr.parse(dstHost);
      } catch {
        lit = null;
      }
      if (lit !== null) {
        this.host.sendUdp(this.port, lit, dstPort, data);
        if (cb !== undefined) process.nextTick(cb, null, data.length);
        return;
      }
      this.host.resolveHost(dstHost, this.type === 'udp6' ? 6 : 4).then(
        (a) => {
          if (this.closed) return fail(new ClosedError('vclient udp socket'));
          try {
            this.host.sendUdp(this.port, a, dstPort, data);
            cb?.(null, data.length);
          } catch (err) {
            fail(err as Error);
          }
        },
        (err: Error) => fail(err),
      );
    } catch (err) {
      fail(err as Error);
    }
  }

  /**
   * @internal A datagram for this socket: `len` bytes at `off` in the borrowed `buf`, copied.
   * Returns false when it was dropped (queue full, closed, or from the wrong peer of a connected socket).
   */
  deliver(buf: Uint8Array, off: number, len: number, srcText: string, family: 4 | 6, srcPort: number): boolean {
    if (this.closed) return false;
    const r = this.remote;
    if (r !== null && (r.port !== srcPort || r.text !== srcText)) return false;
    if (this.queue.length >= this.maxQueued) {
      this.drops++;
      return false;
    }
    const data = Buffer.allocUnsafe(len);
    data.set(buf.subarray(off, off + len));
    this.queue.push({ data, rinfo: { address: srcText, family: family === 4 ? 'IPv4' : 'IPv6', port: srcPort, size: len } });
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.drain);
    }
    return true;
  }

  private deliverQueued(): void {
    this.scheduled = false;
    const q = this.queue;
    this.queue = [];
    for (const m of q) {
      if (this.closed) return;
      this.received++;
      this.emit('message', m.data, m.rinfo);
    }
  }

  /** No-op (a virtual socket never holds the event loop). */
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Releases the port; queued datagrams are dropped. Emits 'close'. Idempotent. */
  close(cb?: () => void): void {
    if (this.closed) {
      if (cb !== undefined) process.nextTick(cb);
      return;
    }
    this.closed = true;
    this.queue = [];
    if (this.port !== 0) this.host.unbindUdp(this.port);
    if (cb !== undefined) this.once('close', cb);
    process.nextTick(() => this.emit('close'));
  }

  /** Datagrams as an async iterator (ends when the socket closes). */
  async *[Symbol.asyncIterator](): AsyncIterator<[Buffer, RemoteInfo]> {
    const pending: [Buffer, RemoteInfo][] = [];
    let wake: (() => void) | null = null;
    const onMsg = (d: Buffer, r: RemoteInfo): void => {
      pending.push([d, r]);
      wake?.();
    };
    const onClose = (): void => wake?.();
    this.on('message', onMsg);
    this.on('close', onClose);
    try {
      for (;;) {
        const m = pending.shift();
        if (m !== undefined) {
          yield m;
          continue;
        }
        if (this.closed) return;
        await new Promise<void>((r) => (wake = r));
        wake = null;
      }
    } finally {
      this.off('message', onMsg);
      this.off('close', onClose);
    }
  }
}
