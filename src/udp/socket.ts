/**
 * Batched UDP sockets over the native addon (`udp` feature, native/src/udp.rs): recvmmsg and
 * sendmmsg of many datagrams per call, straight into and out of memory allocated here, with UDP
 * GSO on send and GRO on receive where the kernel has them.
 *
 * Where datagrams live (a `UdpBuffers`, registered with the kernel side once):
 *
 *   data   Uint8Array over a SharedArrayBuffer      | entry 0 | entry 1 | ... |   (slots, or
 *   offs   Int32Array(n)   where entry i starts         ring slots, or pool frames: any offsets)
 *   lens   Int32Array(n)   its length
 *   addrs  Int32Array(8n)  its peer (address.ts: the 8-word record)
 *
 * Receiving fills entries 0.. with one system call and hands each datagram to a handler as a
 * borrowed view into `data` (valid until the handler returns, as everywhere in pktkit) with the
 * peer as a reused `UdpAddrView`: no object per datagram. A GRO entry (several datagrams of one
 * flow coalesced by the kernel) is split here into its datagrams.
 *
 * Sending queues datagrams into the tx entries (one copy into shared memory, or none when built
 * in place with `txEntry`/`commitTx`) and flushes them with one call: at the end of the current
 * synchronous run (a microtask), when the entries are full, or on `flush()`. The native side
 * joins runs of equal-sized datagrams to one peer into GSO messages.
 *
 * The VPN server shape: one socket, many peers, a batch per wake. A worker blocks in `wait()`
 * (poll(2) on the socket and an eventfd its producers kick, see rings/doorbell.ts), then calls
 * `recv` until it returns 0; every datagram of the batch goes through the engine synchronously,
 * replies are queued with `send` and leave in one `flush()`. Several workers can each open a
 * socket on the same port with `reusePort` and let the kernel spread the peers.
 */

import { ClosedError, PktError, PktTypeError, intInRange } from '../errors.js';
import { requireNative } from '../native/index.js';
import { PolledSocket } from '../native/polled-socket.js';
import type * as NetBinding from '../native/binding.js';
import { ADDR_WORDS, AddrWord, UdpAddrView, UdpEndpoint, copyRecord, type UdpEndpointLike } from './address.js';

type Binding = typeof NetBinding;
type NativeUdp = NetBinding.UdpSocket;

/** Where a direction's datagrams live. `offs` fixes where entry i is; `lens` and `addrs` travel with it. */
export interface UdpBuffers {
  readonly data: Uint8Array;
  readonly offs: Int32Array;
  readonly lens: Int32Array;
  readonly addrs: Int32Array;
}

/** Receives one datagram (borrowed: valid until the handler returns) and its peer (a reused view). */
export type UdpHandler = (datagram: Uint8Array, from: UdpAddrView) => void;

/** Counters of a socket: the native ones plus what the JavaScript side dropped before sending. */
export interface UdpSocketStats extends NetBinding.UdpStats {
  /** `send` calls refused: the socket was closed, the datagram larger than a tx slot, or no tx entry free. */
  txDropClosed: number;
  txDropTooBig: number;
  txDropFull: number;
}

export interface UdpSocketOptions {
  /** Local endpoint (default `0.0.0.0:0`, or `[::]:0` with `family: 6`). */
  bind?: UdpEndpointLike;
  /** 4 or 6 (default: the family of `bind`). An IPv6 socket is dual-stack unless `v6Only`. */
  family?: 4 | 6;
  /** Connect to this peer: `send` without a destination goes there, only its datagrams arrive. */
  connect?: UdpEndpointLike;
  /** SO_RCVBUF in bytes (forced past net.core.rmem_max where the process may). */
  recvBufferSize?: number;
  /** SO_SNDBUF in bytes. */
  sendBufferSize?: number;
  /** SO_REUSEPORT (one socket per worker on the same port). */
  reusePort?: boolean;
  v6Only?: boolean;
  /** UDP GSO on send where the kernel has it (default true). */
  gso?: boolean;
  /** UDP GRO on receive where the kernel has it (default false; needs large rx slots). */
  gro?: boolean;
  /** Receive entries per call (default 64). */
  rxEntries?: number;
  /** Bytes per receive entry (default 2048, or 65536 with `gro`). */
  rxSlotSize?: number;
  /** Send entries (default 64). */
  txEntries?: number;
  /** Bytes per send entry (default 2048). */
  txSlotSize?: number;
  /** Bring your own receive area (ring slots, a frame pool); `rxSlotSize` is then each entry's capacity. */
  rxBuffers?: UdpBuffers;
  /** Bring your own send area. */
  txBuffers?: UdpBuffers;
}

/** Segments of one GRO entry that get a cached view (more are served uncached). */
const SEG_CACHE = 64;
const SEGMENT = AddrWord.Segment;

/**
 * Allocates a buffer set of `entries` slots of `slotSize` bytes in one SharedArrayBuffer
 * (entry i at i * slotSize), so it can be handed to another thread.
 * @throws {PktRangeError} when the sizes are out of range.
 */
export function createUdpBuffers(entries: number, slotSize: number): UdpBuffers {
  intInRange('createUdpBuffers: entries', entries, 1, 1024);
  intInRange('createUdpBuffers: slotSize', slotSize, 1, 65536);
  const data = new Uint8Array(new SharedArrayBuffer(entries * slotSize));
  const offs = new Int32Array(new SharedArrayBuffer(entries * 4));
  for (let i = 0; i < entries; i++) offs[i] = i * slotSize;
  return { data, offs, lens: new Int32Array(new SharedArrayBuffer(entries * 4)), addrs: new Int32Array(new SharedArrayBuffer(entries * ADDR_WORDS * 4)) };
}

function checkBuffers(name: string, b: UdpBuffers, slotSize: number): number {
  if (b === null || typeof b !== 'object' || !(b.data instanceof Uint8Array) || !(b.offs instanceof Int32Array) || !(b.lens instanceof Int32Array) || !(b.addrs instanceof Int32Array)) {
    throw new PktTypeError(`UdpSocket: ${name} must be { data: Uint8Array, offs, lens, addrs: Int32Array }`);
  }
  const n = b.offs.length;
  if (n === 0 || n > 1024 || b.lens.length < n || b.addrs.length < n * ADDR_WORDS) {
    throw new PktTypeError(`UdpSocket: ${name} must have 1 to 1024 entries, lens as long as offs and 8 address words per entry (got ${n}, ${b.lens.length}, ${b.addrs.length})`);
  }
  for (let i = 0; i < n; i++) {
    const off = b.offs[i]!;
    if (off < 0 || off + slotSize > b.data.length) throw new PktTypeError(`UdpSocket: ${name} entry ${i} (${off} + ${slotSize} bytes) is outside its ${b.data.length}-byte data`);
  }
  return n;
}

function optBool(name: string, v: unknown): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new PktTypeError(`UdpSocket: ${name} must be a boolean, got ${typeof v}`);
  return v;
}

function ioError(what: string, err: unknown): PktError {
  return new PktError('ERR_PKT_IO', `UdpSocket: ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/**
 * A UDP socket moving datagrams in batches. Owned by the thread that opened it. Waiting
 * (`wait`, `waitAsync`), the `start` loop and the close handshake are PolledSocket's.
 */
export class UdpSocket extends PolledSocket<UdpHandler> {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** The receive area: after `recvEntries(n)`, entries 0..n-1 hold what arrived. */
  readonly rx: UdpBuffers;
  /** The send area (entries queued by `send`/`commitTx`, or managed by you with `sendEntries`). */
  readonly tx: UdpBuffers;
  /** Capacity in bytes of each receive and send entry. */
  readonly rxSlotSize: number;
  readonly txSlotSize: number;
  private readonly n: NativeUdp;
  private readonly rxN: number;
  private readonly txN: number;
  /** Queued tx entries: [txHead, txTail). */
  private txHead = 0;
  private txTail = 0;
  private flushScheduled = false;
  private readonly flushTask: () => void;
  private readonly from = new UdpAddrView();
  private readonly views: Uint8Array[];
  private readonly viewStart: Int32Array;
  private readonly viewLen: Int32Array;
  private readonly drops = new Float64Array(3);

  private constructor(b: Binding, n: NativeUdp, family: 4 | 6, rx: UdpBuffers, rxSlot: number, tx: UdpBuffers, txSlot: number) {
    super(b, 'UdpSocket', n.fd);
    this.n = n;
    this.family = family;
    this.rx = rx;
    this.tx = tx;
    this.rxSlotSize = rxSlot;
    this.txSlotSize = txSlot;
    this.rxN = rx.offs.length;
    this.txN = tx.offs.length;
    this.flushTask = () => {
      this.flushScheduled = false;
      if (!this.isClosed) this.flush(0);
    };
    const cache = this.rxN * SEG_CACHE;
    this.views = new Array<Uint8Array>(cache).fill(rx.data.subarray(0, 0));
    this.viewStart = new Int32Array(cache).fill(-1);
    this.viewLen = new Int32Array(cache).fill(-1);
  }

  /**
   * Opens, binds and (optionally) connects a socket.
   * @throws {PktTypeError} on malformed options or addresses; {PktRangeError} on sizes out of
   *   range; {PktError} ERR_PKT_IO when the kernel refuses (address in use...),
   *   ERR_PKT_NATIVE_UNAVAILABLE without the addon's `udp` feature.
   */
  static open(opts: UdpSocketOptions = {}): UdpSocket {
    if (opts === null || typeof opts !== 'object') throw new PktTypeError('UdpSocket.open: expected an options object');
    if (opts.family !== undefined && opts.family !== 4 && opts.family !== 6) throw new PktTypeError(`UdpSocket.open: family must be 4 or 6, got ${String(opts.family)}`);
    const bind = opts.bind !== undefined ? UdpEndpoint.from(opts.bind) : UdpEndpoint.parse(opts.family === 6 ? '[::]:0' : '0.0.0.0:0');
    const family = opts.family ?? bind.family;
    if (family === 4 && bind.family === 6) throw new PktTypeError(`UdpSocket.open: cannot bind an IPv4 socket to ${bind.toString()}`);
    const connect = opts.connect !== undefined ? UdpEndpoint.from(opts.connect) : undefined;
    if (connect !== undefined && family === 4 && connect.family === 6) throw new PktTypeError(`UdpSocket.open: an IPv4 socket cannot connect to ${connect.toString()}`);
    const gro = optBool('gro', opts.gro);
    const gso = optBool('gso', opts.gso);
    const reusePort = optBool('reusePort', opts.reusePort);
    const v6Only = optBool('v6Only', opts.v6Only);
    if (opts.recvBufferSize !== undefined) intInRange('UdpSocket.open: recvBufferSize', opts.recvBufferSize, 1024, 1 << 30);
    if (opts.sendBufferSize !== undefined) intInRange('UdpSocket.open: sendBufferSize', opts.sendBufferSize, 1024, 1 << 30);
    const rxSlot = intInRange('UdpSocket.open: rxSlotSize', opts.rxSlotSize ?? (gro === true ? 65536 : 2048), 1, 65536);
    const txSlot = intInRange('UdpSocket.open: txSlotSize', opts.txSlotSize ?? 2048, 1, 65536);
    const rx = opts.rxBuffers ?? createUdpBuffers(intInRange('UdpSocket.open: rxEntries', opts.rxEntries ?? 64, 1, 1024), rxSlot);
    const tx = opts.txBuffers ?? createUdpBuffers(intInRange('UdpSocket.open: txEntries', opts.txEntries ?? 64, 1, 1024), txSlot);
    checkBuffers('rxBuffers', rx, rxSlot);
    checkBuffers('txBuffers', tx, txSlot);

    const b = requireNative('batched UDP', 'udp') as unknown as Binding;
    let n: NativeUdp;
    try {
      n = b.UdpSocket.open({
        family,
        bind: Array.from(bind.record),
        connect: connect === undefined ? undefined : Array.from(connect.record),
        recvBufferSize: opts.recvBufferSize,
        sendBufferSize: opts.sendBufferSize,
        reusePort,
        v6Only,
        gso,
        gro,
      });
    } catch (err) {
      throw ioError(`cannot open ${bind.toString()}`, err);
    }
    try {
      n.setRxBuffers(rx.data, rx.offs, rx.lens, rx.addrs);
      n.setTxBuffers(tx.data, tx.offs, tx.lens, tx.addrs);
    } catch (err) {
      n.close();
      throw ioError('cannot register the buffers', err);
    }
    return new UdpSocket(b, n, family, rx, rxSlot, tx, txSlot);
  }

  /** The bound endpoint (with the port the kernel picked). */
  get localAddress(): UdpEndpoint {
    this.live();
    return UdpEndpoint.fromRecord(this.n.localAddress());
  }

  /** What the kernel supports (GSO, GRO) and uses, and the effective buffer sizes. */
  offloads(): NetBinding.UdpOffloads {
    this.live();
    return this.n.offloads();
  }

  /** Turns GSO on send on or off; returns whether it is on (off where unsupported). */
  setGso(on: boolean): boolean {
    this.live();
    return this.n.setGso(on === true);
  }

  /** Turns GRO on receive on or off; returns whether it is on. Needs rx slots of 64 KiB to be useful. */
  setGro(on: boolean): boolean {
    this.live();
    return this.n.setGro(on === true);
  }

  /**
   * Connects to `peer`.
   * @throws {PktTypeError} on a malformed endpoint; {PktError} ERR_PKT_IO when the kernel refuses.
   */
  connect(peer: UdpEndpointLike): void {
    this.live();
    const e = UdpEndpoint.from(peer);
    try {
      this.n.connect(Array.from(e.record));
    } catch (err) {
      throw ioError(`cannot connect to ${e.toString()}`, err);
    }
  }

  /**
   * Receives one batch (one recvmmsg of up to `maxEntries` entries) and hands every datagram to
   * `handler`, GRO entries split into their datagrams. Returns how many datagrams it handed over
   * (0: nothing was waiting). A handler that throws is the caller's bug: the exception
   * propagates and the rest of the batch is dropped.
   */
  override recv(handler: UdpHandler, maxEntries = this.rxN): number {
    const n = this.recvEntries(maxEntries);
    const { offs, lens, addrs } = this.rx;
    const from = this.from;
    let count = 0;
    for (let e = 0; e < n; e++) {
      const len = lens[e]!;
      if (len < 0) continue; // truncated and lost (counted natively)
      const base = e * ADDR_WORDS;
      from.reset(addrs, base);
      const seg = addrs[base + SEGMENT]!;
      const off = offs[e]!;
      if (seg === 0) {
        handler(this.view(e * SEG_CACHE, off, len), from);
        count++;
        continue;
      }
      for (let p = 0, k = 0; p < len; p += seg, k++) {
        const l = len - p < seg ? len - p : seg;
        handler(k < SEG_CACHE ? this.view(e * SEG_CACHE + k, off + p, l) : this.rx.data.subarray(off + p, off + p + l), from);
        count++;
      }
    }
    return count;
  }

  /**
   * Low level: one recvmmsg into rx entries 0..maxEntries-1; returns how many entries were
   * filled. Entry i: `rx.lens[i]` bytes at `rx.offs[i]` (-1: lost, too large), its peer at
   * `rx.addrs[8i]`, and word 7 the GRO segment size (0: one datagram).
   */
  recvEntries(maxEntries = this.rxN): number {
    if (this.isClosed) throw new ClosedError('UdpSocket');
    return this.n.recv(0, maxEntries < this.rxN ? maxEntries : this.rxN, this.rxSlotSize);
  }

  /** A view of `len` bytes at `off` of the rx data, cached in slot `i` while the range repeats. */
  private view(i: number, off: number, len: number): Uint8Array {
    if (this.viewStart[i] === off && this.viewLen[i] === len) return this.views[i]!;
    const v = this.rx.data.subarray(off, off + len);
    this.views[i] = v;
    this.viewStart[i] = off;
    this.viewLen[i] = len;
    return v;
  }

  /**
   * Queues `datagram` (copied into a tx entry) for `to` (an endpoint, a received peer's view,
   * or nothing for the connected peer). It leaves with the next flush: at the end of this
   * synchronous run, when the entries are full, or on `flush()`. Returns false when it was
   * dropped (closed, larger than a tx slot, entries still full after a flush), counted.
   */
  send(datagram: Uint8Array, to: UdpEndpoint | UdpAddrView | null = null): boolean {
    const e = this.txEntry();
    if (e < 0) return false;
    const len = datagram.length;
    if (len > this.txSlotSize) {
      this.drops[1]!++;
      return false;
    }
    this.tx.data.set(datagram, this.tx.offs[e]!);
    this.commitTx(len, to);
    return true;
  }

  /**
   * For building a datagram in place: the tx entry the next `commitTx` completes (write up to
   * `txSlotSize` bytes at `tx.data[tx.offs[entry]]`), or -1 (counted) when closed or full.
   */
  txEntry(): number {
    if (this.isClosed) {
      this.drops[0]!++;
      return -1;
    }
    if (this.txTail === this.txN && !this.makeRoom()) {
      this.drops[2]!++;
      return -1;
    }
    return this.txTail;
  }

  /** Completes the entry from `txEntry` with `len` bytes for `to` (see `send`). */
  commitTx(len: number, to: UdpEndpoint | UdpAddrView | null = null): void {
    const e = this.txTail;
    const tx = this.tx;
    tx.lens[e] = len;
    const base = e * ADDR_WORDS;
    if (to === null) tx.addrs[base] = 0;
    else if (to instanceof UdpAddrView) copyRecord(to.words, to.off, tx.addrs, base);
    else copyRecord(to.record, 0, tx.addrs, base);
    this.txTail = e + 1;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushTask);
    }
  }

  /** Queued datagrams not yet sent. */
  get pending(): number {
    return this.txTail - this.txHead;
  }

  /**
   * Sends everything queued, in as few system calls as the kernel takes. When the send buffer
   * is full it waits up to `timeoutMs` for room (default 0: never blocks); what is left stays
   * queued. Returns how many datagrams left (or were dropped by an error, counted).
   */
  flush(timeoutMs = 0): number {
    const q = this.txTail - this.txHead;
    if (q === 0 || this.isClosed) return 0;
    const done = this.n.send(this.txHead, q, timeoutMs);
    this.txHead += done;
    if (this.txHead === this.txTail) this.txHead = this.txTail = 0;
    return done;
  }

  /** Entries full: flush, then move what is left to the front. Out of line: rare. */
  private makeRoom(): boolean {
    this.flush(0);
    if (this.txHead > 0) {
      const tx = this.tx;
      const left = this.txTail - this.txHead;
      for (let k = 0; k < left; k++) {
        const from = this.txHead + k;
        const o = tx.offs[from]!;
        tx.data.copyWithin(tx.offs[k]!, o, o + tx.lens[from]!);
        tx.lens[k] = tx.lens[from]!;
        copyRecord(tx.addrs, from * ADDR_WORDS, tx.addrs, k * ADDR_WORDS);
      }
      this.txHead = 0;
      this.txTail = left;
    }
    return this.txTail < this.txN;
  }

  /**
   * Low level: sends tx entries `start..start+count` as they are (you manage `tx.lens` and
   * `tx.addrs`; do not mix with `send`). Returns how many are done; see `flush` for `timeoutMs`.
   */
  sendEntries(start: number, count: number, timeoutMs = 0): number {
    if (this.isClosed) throw new ClosedError('UdpSocket');
    return this.n.send(start, count, timeoutMs);
  }

  /** Counters (native and JavaScript side). */
  stats(): UdpSocketStats {
    const s = this.n.stats() as UdpSocketStats;
    s.txDropClosed = this.drops[0]!;
    s.txDropTooBig = this.drops[1]!;
    s.txDropFull = this.drops[2]!;
    return s;
  }

  /**
   * Sends what is queued (without waiting), then closes. Idempotent. With a `start` loop
   * running it returns a promise that resolves once the loop has stopped and the descriptor
   * is closed (the loop's wait must end before its descriptor may be closed).
   */
  override close(): void | Promise<void> {
    if (!this.isClosed) this.flush(0);
    return super.close();
  }

  protected override closeNative(): void {
    this.n.close();
  }

  private live(): void {
    if (this.isClosed) throw new ClosedError('UdpSocket');
  }
}
