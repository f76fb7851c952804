/**
 * AfXdpDevice: an `L2Device` over an AF_XDP socket bound to one queue of a Linux interface (the
 * native addon's `xdp` feature, native/src/xdp.rs). Frames the kernel's XDP program redirects to
 * the socket reach the handler; `send` puts frames on the socket's tx ring, out of the interface.
 *
 * The UMEM is a SharedArrayBuffer allocated here (one page more than the frames, so that the
 * view the kernel registers starts on a page boundary) and held by this object for as long as
 * the socket lives; the native side holds it too, so neither garbage collection nor a lost
 * reference can free memory the kernel still writes into.
 *
 *   umem:  | rx frames 0 .. rxFrames-1 (the kernel's)  | tx frames rxFrames .. frameCount-1 |
 *                                                        free stack here, one copy in per send
 *
 *   poll():  one native call: last batch's frames back to the fill ring, up to `batch` new ones
 *            as [offset, length] pairs; each goes to the handler as a view of its UMEM frame
 *            (borrowed: valid until the handler returns, cached per frame), no copy
 *   send():  copy into a free tx frame, queue [offset, length]; `flush` (at the end of the
 *            synchronous run, when `batch` are queued, or called) moves the queue to the tx
 *            ring in one native call, which kicks the kernel when it asks (XDP_USE_NEED_WAKEUP)
 *            and hands back the frames it has sent
 *
 * What drives receiving: `start()` (an async loop on this thread, waiting in a libuv pool thread),
 * or your own loop in a worker: `wait(timeoutMs, kickFd)` then `poll()`. One device per queue;
 * several devices on one interface's queues (one per worker) share one XDP program.
 *
 * Not supported: multi-buffer (jumbo) frames, shared UMEM between sockets, unaligned chunks,
 * tx metadata. Zero-copy is used where the driver has it (veth has not: copy mode there).
 */

import type { FrameHandler, L2Device } from '../core/device.js';
import { ClosedError, PktError, PktTypeError, intInRange } from '../errors.js';
import { requireNative } from '../native/index.js';
import type * as NetBinding from '../native/binding.js';
import { toMac } from '../wire/addr.js';

type Binding = typeof NetBinding;
type NativeXsk = NetBinding.XskSocket;

export interface AfXdpOptions {
  /** The interface (in this process's network namespace). */
  ifname: string;
  /** The queue to bind (default 0). */
  queue?: number;
  /** UMEM frame size: 2048 (default) or 4096. */
  frameSize?: 2048 | 4096;
  /** UMEM frames (default 4096). */
  frameCount?: number;
  /** Frames lent to the kernel for receiving (default half); the rest are for sending. */
  rxFrames?: number;
  /** Entries of each of the four rings, a power of two (default 2048). */
  ringSize?: number;
  /** Frames per poll and per flush (default 64). */
  batch?: number;
  /** XDP mode: 'auto' (native, then generic), 'native' or 'generic'. */
  mode?: 'auto' | 'native' | 'generic';
  /** How the program is attached: 'auto' (BPF link, then netlink), 'link' or 'netlink'. */
  attach?: 'auto' | 'link' | 'netlink';
  /** 'auto' (zero-copy where the driver has it), 'require', or 'off'. */
  zeroCopy?: 'auto' | 'require' | 'off';
  /** The device's MAC (default: the interface's). */
  hwAddr?: number | string;
}

/** How the device ended up bound: the native `XskInfo`. */
export type AfXdpInfo = NetBinding.XskInfo;

/** Counters: native and kernel ones, plus what `send` dropped. */
export interface AfXdpStats extends NetBinding.XskStats {
  /** Frames received while no handler was set. */
  rxNoHandler: number;
  /** `send` refusals: closed, too large for a frame (or empty), no free tx frame. */
  txDropClosed: number;
  txDropTooBig: number;
  txDropNoFrame: number;
}

const D_CLOSED = 0;
const D_TOO_BIG = 1;
const D_NO_FRAME = 2;
const D_NO_HANDLER = 3;

function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new PktTypeError(`AfXdpDevice.open: ${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

function pow2(name: string, v: number, min: number, max: number): number {
  intInRange(`AfXdpDevice.open: ${name}`, v, min, max);
  if ((v & (v - 1)) !== 0) throw new PktTypeError(`AfXdpDevice.open: ${name} must be a power of two, got ${v}`);
  return v;
}

export class AfXdpDevice implements L2Device {
  readonly hwAddr: number;
  /** How the socket is bound (interface, queue, XDP mode, attachment, zero-copy). */
  readonly info: AfXdpInfo;
  /** The UMEM: a page-aligned view over `umemBuffer`. Frame i starts at i * frameSize. */
  readonly umem: Uint8Array;
  readonly umemBuffer: SharedArrayBuffer;
  readonly frameSize: number;
  readonly batch: number;
  private readonly b: Binding;
  private readonly n: NativeXsk;
  private handler: FrameHandler | null = null;
  private readonly rxDesc: Int32Array;
  private readonly txDesc: Int32Array;
  private readonly done: Int32Array;
  /** Free tx frame offsets: a stack, [0, txFreeTop). */
  private readonly txFree: Int32Array;
  private txFreeTop: number;
  private txQueued = 0;
  private flushScheduled = false;
  private readonly flushTask: () => void;
  private readonly views: Uint8Array[];
  private readonly viewStart: Int32Array;
  private readonly viewLen: Int32Array;
  private readonly drops = new Float64Array(4);
  private readonly waitFds = new Int32Array(1);
  private readonly waitReady = new Int32Array(1);
  private isClosed = false;
  private loop: Promise<void> | null = null;
  private loopKick = -1;
  private closing: Promise<void> | null = null;

  private constructor(b: Binding, n: NativeXsk, sab: SharedArrayBuffer, umem: Uint8Array, cfg: { frameSize: number; frameCount: number; rxFrames: number; batch: number; hwAddr: number }, bufs: { rxDesc: Int32Array; txDesc: Int32Array; done: Int32Array }) {
    this.b = b;
    this.n = n;
    this.umemBuffer = sab;
    this.umem = umem;
    this.frameSize = cfg.frameSize;
    this.batch = cfg.batch;
    this.hwAddr = cfg.hwAddr;
    this.info = n.info();
    this.rxDesc = bufs.rxDesc;
    this.txDesc = bufs.txDesc;
    this.done = bufs.done;
    const txFrames = cfg.frameCount - cfg.rxFrames;
    this.txFree = new Int32Array(txFrames);
    for (let i = 0; i < txFrames; i++) this.txFree[i] = (cfg.frameCount - 1 - i) * cfg.frameSize;
    this.txFreeTop = txFrames;
    this.flushTask = () => {
      this.flushScheduled = false;
      if (!this.isClosed) this.flush();
    };
    this.views = new Array<Uint8Array>(cfg.frameCount).fill(umem.subarray(0, 0));
    this.viewStart = new Int32Array(cfg.frameCount).fill(-1);
    this.viewLen = new Int32Array(cfg.frameCount).fill(-1);
    this.waitFds[0] = n.fd;
  }

  /**
   * Opens an AF_XDP socket on `opts.queue` of `opts.ifname`, loading and attaching the redirect
   * program if this process has none on that interface yet. Needs CAP_NET_ADMIN and CAP_BPF
   * (root), Linux 5.4 or later.
   * @throws {PktTypeError} / {PktRangeError} on bad options; {PktError} ERR_PKT_IO when the
   *   kernel refuses (no such interface, another XDP program attached, queue taken, zero-copy
   *   required but unsupported: the message has the kernel's reason), ERR_PKT_NATIVE_UNAVAILABLE
   *   without the addon's `xdp` feature.
   */
  static open(opts: AfXdpOptions): AfXdpDevice {
    if (opts === null || typeof opts !== 'object') throw new PktTypeError('AfXdpDevice.open: expected an options object');
    if (typeof opts.ifname !== 'string' || opts.ifname.length === 0 || opts.ifname.length > 15) {
      throw new PktTypeError(`AfXdpDevice.open: ifname must be an interface name (1 to 15 characters), got ${JSON.stringify(opts.ifname)}`);
    }
    const queue = intInRange('AfXdpDevice.open: queue', opts.queue ?? 0, 0, 63);
    const frameSize = opts.frameSize ?? 2048;
    if (frameSize !== 2048 && frameSize !== 4096) throw new PktTypeError(`AfXdpDevice.open: frameSize must be 2048 or 4096, got ${String(frameSize)}`);
    const frameCount = intInRange('AfXdpDevice.open: frameCount', opts.frameCount ?? 4096, 128, 1 << 20);
    const rxFrames = intInRange('AfXdpDevice.open: rxFrames', opts.rxFrames ?? frameCount >> 1, 64, frameCount - 64);
    const ringSize = pow2('ringSize', opts.ringSize ?? 2048, 64, 1 << 16);
    const batch = intInRange('AfXdpDevice.open: batch', opts.batch ?? 64, 1, ringSize);
    const mode = oneOf('mode', opts.mode, ['auto', 'native', 'generic'] as const);
    const attach = oneOf('attach', opts.attach, ['auto', 'link', 'netlink'] as const);
    const zeroCopy = oneOf('zeroCopy', opts.zeroCopy, ['auto', 'require', 'off'] as const);
    const hw = opts.hwAddr !== undefined ? toMac(opts.hwAddr) : null;

    const b = requireNative('AF_XDP', 'xdp') as unknown as Binding;
    let mac = hw;
    if (mac === null) {
      try {
        const m = b.xdpInterface(opts.ifname).mac;
        mac = m.reduce((acc, x) => acc * 256 + x, 0);
      } catch (err) {
        throw ioError(`cannot open ${opts.ifname}`, err);
      }
    }
    const bytes = frameCount * frameSize;
    const sab = new SharedArrayBuffer(bytes + 4096);
    const umem = new Uint8Array(sab, b.xdpPageOffset(new Uint8Array(sab)), bytes);
    const rxDesc = new Int32Array(2 * batch);
    const txDesc = new Int32Array(2 * batch);
    const done = new Int32Array(frameCount - rxFrames + 1);
    let n: NativeXsk;
    try {
      n = b.XskSocket.open(
        { ifname: opts.ifname, queue, frameSize, rxFrames, fillSize: ringSize, compSize: ringSize, rxSize: ringSize, txSize: ringSize, mode, attach, zeroCopy },
        umem,
        rxDesc,
        txDesc,
        done,
      );
    } catch (err) {
      throw ioError(`cannot open ${opts.ifname} queue ${queue}`, err);
    }
    return new AfXdpDevice(b, n, sab, umem, { frameSize, frameCount, rxFrames, batch, hwAddr: mac }, { rxDesc, txDesc, done });
  }

  /** The socket's descriptor (readable when frames arrived), for the addon's `waitFds`; -1 once closed. */
  get fd(): number {
    return this.isClosed ? -1 : this.waitFds[0]!;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  setHandler(handler: FrameHandler): void {
    if (typeof handler !== 'function') throw new PktTypeError('AfXdpDevice.setHandler: expected a function');
    this.handler = handler;
  }

  /**
   * Takes up to `max` received frames (one native call) and hands each to the handler, as a
   * view of its UMEM frame valid until the handler returns. Returns how many frames arrived
   * (0: none). Then flushes what the handler sent.
   */
  poll(max = this.batch): number {
    if (this.isClosed) return 0;
    const k = this.n.rx(max < this.batch ? max : this.batch);
    if (k === 0) return 0;
    const h = this.handler;
    if (h === null) {
      this.drops[D_NO_HANDLER]! += k;
      return k;
    }
    const d = this.rxDesc;
    const fs = this.frameSize;
    for (let i = 0; i < k; i++) {
      const off = d[2 * i]!;
      const len = d[2 * i + 1]!;
      const f = (off / fs) | 0;
      let v = this.views[f]!;
      if (this.viewStart[f] !== off || this.viewLen[f] !== len) {
        v = this.umem.subarray(off, off + len);
        this.views[f] = v;
        this.viewStart[f] = off;
        this.viewLen[f] = len;
      }
      h(v);
    }
    if (this.txQueued > 0) this.flush();
    return k;
  }

  /**
   * Copies `frame` into a free tx frame and queues it; it leaves with the next flush (at the
   * end of this synchronous run, when `batch` frames are queued, or on `flush()`). Drops and
   * counts, never throws: when closed, when the frame is empty or larger than a UMEM frame, or
   * when every tx frame is still in flight.
   */
  send(frame: Uint8Array): void {
    if (this.isClosed) {
      this.drops[D_CLOSED]!++;
      return;
    }
    const len = frame.length;
    if (len === 0 || len > this.frameSize) {
      this.drops[D_TOO_BIG]!++;
      return;
    }
    if (this.txQueued === this.batch) this.flush();
    if (this.txFreeTop === 0 && !this.reclaim()) {
      this.drops[D_NO_FRAME]!++;
      return;
    }
    const off = this.txFree[--this.txFreeTop]!;
    this.umem.set(frame, off);
    const q = this.txQueued++;
    this.txDesc[2 * q] = off;
    this.txDesc[2 * q + 1] = len;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushTask);
    }
  }

  /** No free tx frame: asks the kernel for sent ones. Out of line: rare. */
  private reclaim(): boolean {
    if (this.txQueued > 0) this.flush();
    this.n.reap();
    this.takeDone();
    return this.txFreeTop > 0;
  }

  /** Takes the frames the kernel has sent back onto the free stack. */
  private takeDone(): void {
    const d = this.done;
    const c = d[0]!;
    const fs = this.frameSize;
    for (let i = 1; i <= c; i++) {
      const off = d[i]!;
      this.txFree[this.txFreeTop++] = off - (off % fs);
    }
    d[0] = 0;
  }

  /**
   * Moves the queued frames to the tx ring (one native call, which kicks the kernel and returns
   * the frames it has sent). Returns how many were queued on the ring; a full ring leaves the
   * rest queued here.
   */
  flush(): number {
    const q = this.txQueued;
    if (q === 0 || this.isClosed) return 0;
    const a = this.n.tx(q);
    this.takeDone();
    if (a < q) this.txDesc.copyWithin(0, 2 * a, 2 * q);
    this.txQueued = q - a;
    return a;
  }

  /**
   * Blocks this thread until frames arrive, `kickFd` (an eventfd: see `Doorbell.setKickFd`) is
   * kicked, or `timeoutMs` passes (-1: no limit). For worker threads. True when frames arrived.
   */
  wait(timeoutMs: number, kickFd = -1): boolean {
    if (this.isClosed) throw new ClosedError('AfXdpDevice');
    this.b.waitFds(this.waitFds, kickFd, timeoutMs, this.waitReady);
    return this.waitReady[0] !== 0;
  }

  /**
   * Receives on this thread's event loop until closed (waiting in a libuv pool thread while
   * idle). The promise settles when the device is closed, or rejects with what a handler threw
   * (the device is then closed).
   * @throws {PktError} ERR_PKT_CONFIG when already started.
   */
  start(): Promise<void> {
    if (this.isClosed) throw new ClosedError('AfXdpDevice');
    if (this.loop !== null) throw new PktError('ERR_PKT_CONFIG', 'AfXdpDevice.start: already started');
    this.loopKick = this.b.eventfdCreate();
    this.loop = this.run();
    return this.loop;
  }

  private async run(): Promise<void> {
    const fds = [this.waitFds[0]!];
    try {
      while (!this.isClosed) {
        for (let i = 0; i < 16 && !this.isClosed && this.poll() > 0; i++);
        if (this.isClosed) break;
        await this.b.waitFdsAsync(fds, this.loopKick, -1);
      }
    } catch (err) {
      this.isClosed = true;
      throw err;
    } finally {
      this.shutdown();
      this.b.fdClose(this.loopKick);
      this.loopKick = -1;
    }
  }

  /** Counters (the socket's, the kernel's XDP_STATISTICS, and this side's drops). */
  stats(): AfXdpStats {
    const s = this.n.stats() as AfXdpStats;
    s.rxNoHandler = this.drops[D_NO_HANDLER]!;
    s.txDropClosed = this.drops[D_CLOSED]!;
    s.txDropTooBig = this.drops[D_TOO_BIG]!;
    s.txDropNoFrame = this.drops[D_NO_FRAME]!;
    return s;
  }

  /**
   * Flushes, lets the kernel finish what is on the tx ring (briefly), closes the socket and
   * detaches the XDP program if no other device of this process uses the interface. Idempotent.
   * With `start()` running it returns a promise (the loop's wait must end first).
   */
  close(): void | Promise<void> {
    if (this.closing !== null) return this.closing;
    if (this.isClosed && this.loop === null) return;
    if (!this.isClosed) this.flush();
    this.isClosed = true;
    if (this.loop !== null) {
      this.b.eventfdKick(this.loopKick);
      this.closing = this.loop.catch(() => {});
      return this.closing;
    }
    this.shutdown();
  }

  private shutdown(): void {
    for (let i = 0; i < 8 && this.n.fd >= 0 && this.n.txOutstanding() > 0; i++) this.n.reap();
    this.n.close();
  }
}

function ioError(what: string, err: unknown): PktError {
  return new PktError('ERR_PKT_IO', `AfXdpDevice: ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
