/**
 * Production binds for WgDevice (bind.ts has the interface):
 *
 * - `BatchedUdpBind`: over pktkit's batched UDP socket (src/udp `UdpSocket`, the addon's
 *   recvmmsg/sendmmsg). Typed structurally (`BatchedUdpSocketLike`) so that this engine does not
 *   import the I/O layer. Sending copies the datagram into a tx entry (one memcpy, no object);
 *   it leaves with the socket's end-of-run flush, in one sendmmsg with everything else queued.
 *   Receiving is the owner's loop: `poll()` runs one recv batch through the device.
 * - `DgramBind`: over node:dgram, for when the addon is not built. About 3 us per datagram and an
 *   object or two per datagram (dgram's own), so it is the compatibility path, not the fast one.
 */

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { PktError } from '../errors.js';
import { ENDPOINT_WORDS, formatEndpoint, parseEndpoint, sameEndpoint, type WgBind, type WgBindReceiver } from './bind.js';

/** What BatchedUdpBind needs of src/udp's UdpSocket. */
export interface BatchedUdpSocketLike {
  readonly tx: { readonly data: Uint8Array; readonly offs: Int32Array; readonly addrs: Int32Array };
  readonly rx: { readonly data: Uint8Array; readonly offs: Int32Array; readonly lens: Int32Array; readonly addrs: Int32Array };
  recvEntries(maxEntries?: number): number;
  txEntry(): number;
  commitTx(len: number, to?: null): void;
  recv(handler: (datagram: Uint8Array, from: { readonly words: Int32Array; readonly off: number }) => void, maxEntries?: number): number;
  close(): void;
}

export class BatchedUdpBind implements WgBind {
  readonly socket: BatchedUdpSocketLike;
  #receiver: WgBindReceiver | null = null;
  readonly #onRecv: (d: Uint8Array, from: { readonly words: Int32Array; readonly off: number }) => void;

  constructor(socket: BatchedUdpSocketLike) {
    this.socket = socket;
    this.#onRecv = (d, from) => {
      if (this.#receiver !== null) this.#receiver(d, from.words, from.off);
    };
  }

  setReceiver(receiver: WgBindReceiver): void {
    this.#receiver = receiver;
  }

  send(datagram: Uint8Array, to: Int32Array, toOff: number): void {
    const s = this.socket;
    const e = s.txEntry();
    if (e < 0) return; // counted by the socket (closed or full)
    s.tx.data.set(datagram, s.tx.offs[e]!);
    s.commitTx(datagram.length, null);
    // commitTx(null) marks "connected peer"; the record goes in afterwards (before the flush,
    // which runs at the end of this synchronous run at the earliest).
    const base = e * ENDPOINT_WORDS;
    for (let k = 0; k < 7; k++) s.tx.addrs[base + k] = to[toOff + k]!;
  }

  /** Receives one batch and runs it through the device datagram by datagram; returns the count (0: none waiting). */
  poll(maxEntries?: number): number {
    return this.socket.recv(this.#onRecv, maxEntries);
  }

  /**
   * Receives one batch (one recvmmsg) straight into `device.receiveBatch`: the socket's rx area
   * has the layout it takes, so runs of one keypair are opened with one AEAD call in place.
   * For sockets without GRO (an entry must hold one datagram). Returns the entry count.
   */
  pollBatch(device: { receiveBatch(data: Uint8Array, offs: Int32Array, lens: Int32Array, addrs: Int32Array, count: number): void }, maxEntries?: number): number {
    const s = this.socket;
    const n = s.recvEntries(maxEntries);
    if (n > 0) device.receiveBatch(s.rx.data, s.rx.offs, s.rx.lens, s.rx.addrs, n);
    return n;
  }

  close(): void {
    this.socket.close();
  }
}

export interface DgramBindOptions {
  /** Local address (default 0.0.0.0, or :: with type udp6). */
  address?: string;
  /** Local port (default 0: any). */
  port?: number;
  type?: 'udp4' | 'udp6';
  /** SO_RCVBUF in bytes (the kernel caps it at net.core.rmem_max). */
  recvBufferSize?: number;
  /** SO_SNDBUF in bytes. */
  sendBufferSize?: number;
}

export class DgramBind implements WgBind {
  readonly socket: Socket;
  #receiver: WgBindReceiver | null = null;
  readonly #from = new Int32Array(ENDPOINT_WORDS);
  readonly #lastTo = new Int32Array(ENDPOINT_WORDS);
  #lastHost = '';
  #closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.#message(msg, rinfo));
    socket.on('error', () => {
      /* send errors (unreachable peers) are not the device's to throw; datagrams are lost as on a wire */
    });
  }

  /**
   * Binds a node:dgram socket.
   * @throws {PktError} ERR_PKT_IO when the bind fails (address in use...).
   */
  static open(opts: DgramBindOptions = {}): Promise<DgramBind> {
    const type = opts.type ?? 'udp4';
    const socket = createSocket({ type, reuseAddr: false });
    return new Promise((resolve, reject) => {
      socket.once('error', (err) => reject(new PktError('ERR_PKT_IO', `DgramBind: ${err.message}`, { cause: err })));
      socket.bind(opts.port ?? 0, opts.address ?? (type === 'udp4' ? '0.0.0.0' : '::'), () => {
        if (opts.recvBufferSize !== undefined) socket.setRecvBufferSize(opts.recvBufferSize);
        if (opts.sendBufferSize !== undefined) socket.setSendBufferSize(opts.sendBufferSize);
        resolve(new DgramBind(socket));
      });
    });
  }

  /** The bound port. */
  get port(): number {
    return this.socket.address().port;
  }

  setReceiver(receiver: WgBindReceiver): void {
    this.#receiver = receiver;
  }

  #message(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.#receiver === null) return;
    let host = rinfo.address;
    if (host.startsWith('::ffff:') && host.includes('.')) host = host.slice(7);
    try {
      parseEndpoint(host.includes(':') ? `[${host.replace(/%.*$/, '')}]:${rinfo.port}` : `${host}:${rinfo.port}`, this.#from, 0);
    } catch {
      return; // not an address we can record (never happens with dgram's own strings)
    }
    this.#receiver(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), this.#from, 0);
  }

  send(datagram: Uint8Array, to: Int32Array, toOff: number): void {
    if (this.#closed || to[toOff] === 0) return;
    if (!sameEndpoint(this.#lastTo, 0, to, toOff)) {
      for (let k = 0; k < ENDPOINT_WORDS; k++) this.#lastTo[k] = to[toOff + k]!;
      const text = formatEndpoint(to, toOff);
      this.#lastHost = text.startsWith('[') ? text.slice(1, text.lastIndexOf(']')) : text.slice(0, text.lastIndexOf(':'));
    }
    // dgram keeps a reference to the buffer until the send completes: hand it a copy.
    this.socket.send(Buffer.from(datagram), to[toOff + 1]!, this.#lastHost);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.close();
  }
}
