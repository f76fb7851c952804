/**
 * Standalone TUN and TAP devices: `Tun` is an `L3Device` (IP packets), `Tap` an `L2Device`
 * (Ethernet frames), each backed by a kernel interface through `/dev/net/tun` (IFF_NO_PI: no
 * prefix on the frames). Usable on any thread.
 *
 *   kernel interface  --frames it sends-->  fd  --batched read (addon)-->  slots  --> handler(view)
 *   kernel interface  <--frames it gets---  fd  <--write (addon)----------------- send(frame)
 *
 * Reading is driven by the thread's FdPoller (poller.ts): when a descriptor is readable, one
 * call of the addon reads up to `batch` frames into a slot array of the device's own (each
 * frame after `headroom` bytes, free for headers to be prepended in place), then the handler
 * gets each one as a view of its slot, valid until it returns (the slots are reused by the next
 * read). Views are cached per slot and length, so steady traffic makes none. `send` copies the
 * frame into an outgoing slot and the slots are written together, one addon call per batch, when
 * the batch is full or at the end of the current event-loop job (`sendBatch: 0` writes each at
 * once). A TUN has no batched write: it is still one write(2) per frame, but the call into the
 * addon costs about as much as a third of one (docs/BENCHMARKS.md, ## TUN).
 *
 * With `vnetHdr` (TUN only; vnet.ts), the descriptors carry the virtio-net header and the kernel
 * hands over TCP super-packets of up to 64 KiB: the addon segments them into plain packets
 * (rx: 'segment', the default; a per-queue scratch buffer holds a super-packet whose segments
 * did not fit one batch, and reading goes on with it at once) or delivers them whole, header
 * first (rx: 'raw', slots of 64 KiB).
 *
 * Drops are counted, never thrown (the device contract): a frame longer than a slot, one the
 * kernel refuses (EINVAL: not IPv4/IPv6 on a TUN; EIO: link down), frames read while no
 * handler is set, sends after close. An error that ends the descriptor (the interface was
 * deleted: EBADFD) fails the device: `error` is set and `done` resolves.
 *
 * `close()` stops the polling, closes every descriptor and the netlink socket; the interface
 * goes away with its last descriptor unless it is persistent (made with `ip tuntap add`).
 */

import { ConfigError, PktError, PktTypeError, intInRange } from '../errors.js';
import type { AddrListener, FrameHandler, L2Device, L3Device, PacketHandler } from '../core/device.js';
import { IpPrefix } from '../wire/addr.js';
import { ETH_HEADER_LEN } from '../wire/ethernet.js';
import {
  type InterfaceOptions,
  type LinkState,
  type NetnsRef,
  type RouteSpec,
  Iface,
  checkIfName,
  checkInterfaceOptions,
  openInterface,
} from './iface.js';
import { IO_STATS_LEN, IoStat, type TunTapStats, type TuntapNative, VnetState, ioStats, tuntapNative, vnetScratchLen, vnetState } from './native.js';
import { type VnetConfig, type VnetHdrOptions, checkVnetOption } from './vnet.js';
import { poller } from './poller.js';

/** Options of `Tun.open` / `Tap.open` (and `attach`). */
export interface DeviceOptions extends InterfaceOptions {
  /** Frames read per call of the addon (default 64). */
  batch?: number;
  /** Bytes kept free before each frame read, for headers prepended in place (default 64). */
  headroom?: number;
  /**
   * Frames `send` gathers before writing them in one addon call (default 64; they also go out
   * at the end of the current event-loop job). 0: every `send` writes at once.
   */
  sendBatch?: number;
  /**
   * TUN only: the virtio-net header with checksum and segmentation offloads (`true`: rx
   * 'segment', 10-byte header, checksum + TSO). See vnet.ts for what reads deliver in each mode.
   */
  vnetHdr?: boolean | VnetHdrOptions;
}

const POLLNVAL = 0x20;
/** Batches read per readiness before the poller is given back (fairness between devices). */
const BATCHES_PER_WAKE = 8;
/** 802.1Q tag: a TAP frame may carry one beyond the MTU. */
const VLAN_TAG_LEN = 4;
const EBADF = 9;
/** The largest IP packet (a GSO super-packet read whole with rx: 'raw'). */
const IP_MAX_LEN = 65535;

function noHandler(): void {}

/** The smallest power of two at least `n` (and at least 1). */
function pow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** The part of Tun and Tap that is the same: descriptors, reading, writing, configuration. */
abstract class TunTapDevice {
  protected readonly n: TuntapNative;
  /** The kernel interface: configure it with `setUp`, `setMtu`, `addAddr`, `addRoute`, `moveTo`. */
  readonly iface: Iface;
  private readonly fds: number[];
  private readonly counters: Float64Array[];
  private handler: (frame: Uint8Array) => void = noHandler;
  private hasHandler = false;
  // The read slots: `batch` slots of `slotSize` bytes, reused by every read.
  private readonly batch: number;
  private readonly headroom: number;
  private slotSize: number;
  private data: Uint8Array;
  private readonly meta: Int32Array;
  private readonly views: Uint8Array[];
  private readonly viewLen: Int32Array;
  private readonly extraLen: number;
  // Gathered sends: `sendBatch` slots of `outSlotSize` bytes (frames at offset 0).
  private readonly sendBatch: number;
  private readonly outSlotSize: number;
  private readonly outData: Uint8Array;
  private readonly outMeta: Int32Array;
  private outPending = 0;
  private readonly flushBound = (): void => this.flushSends();
  /** The virtio-net header's length on the descriptors (0: none). */
  readonly vnetHdrLen: number;
  private mtuNow: number;
  /** TunOffload bits the kernel granted (0 without the header). */
  readonly offloads: number;
  private readonly vnetRx: 'segment' | 'raw' | null;
  // Per queue, with a vnet header: the reader's state and (rx 'segment') its scratch buffer.
  private readonly vnetStates: Int32Array[];
  private scratch: Uint8Array[];
  /** Blank header bytes put before each sent packet (rx 'segment'; 'raw' frames carry their own). */
  private readonly txPrefix: number;
  private closing: Promise<void> | null = null;
  private failed = false;
  private resolveDone: () => void = () => {};
  /** Resolves when the device is closed or has failed (see `error`). */
  readonly done: Promise<void>;
  /** Why the device failed (its interface was deleted, say), or null. */
  error: PktError | null = null;

  protected constructor(n: TuntapNative, iface: Iface, fds: number[], opts: DeviceOptions, extraLen: number, vnet: VnetConfig | null, offloads: number) {
    this.n = n;
    this.iface = iface;
    this.fds = fds;
    this.counters = fds.map(() => new Float64Array(IO_STATS_LEN));
    this.batch = intInRange('tuntap: batch', opts.batch ?? 64, 1, 4096);
    this.headroom = intInRange('tuntap: headroom', opts.headroom ?? 64, 0, 4096);
    this.extraLen = extraLen;
    this.vnetHdrLen = vnet?.headerLen ?? 0;
    this.offloads = offloads;
    this.vnetRx = vnet?.rx ?? null;
    this.vnetStates = vnet === null ? [] : fds.map(() => vnetState(vnet.headerLen, vnet.rx === 'segment'));
    this.scratch = fds.map(() => new Uint8Array(0));
    this.txPrefix = vnet?.rx === 'segment' ? vnet.headerLen : 0;
    this.slotSize = 0;
    this.data = new Uint8Array(0);
    // The addon takes slot arrays of a power-of-two length; reads fill the first `batch`.
    this.meta = new Int32Array(pow2(this.batch) * 2);
    this.views = new Array<Uint8Array>(this.batch);
    this.viewLen = new Int32Array(this.batch).fill(-1);
    this.mtuNow = iface.info().mtu;
    this.sizeSlots(this.mtuNow);
    this.sendBatch = intInRange('tuntap: sendBatch', opts.sendBatch ?? 64, 0, 4096);
    // Frames up to a full-size Ethernet frame are gathered; larger ones are written at once.
    this.outSlotSize = 2048;
    this.outData = new Uint8Array(pow2(this.sendBatch) * this.outSlotSize);
    this.outMeta = new Int32Array(pow2(this.sendBatch) * 2);
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    const p = poller(n);
    fds.forEach((fd, q) => p.add(fd, (revents) => this.onReadable(q, revents)));
  }

  /** (Re)sizes the read slots for frames of `mtu` plus the link header (vnet 'raw': the header and 64 KiB). */
  private sizeSlots(mtu: number): void {
    const frameMax = this.vnetRx === 'raw' ? this.vnetHdrLen + IP_MAX_LEN : mtu + this.extraLen;
    const size = (this.headroom + frameMax + 7) & ~7;
    if (size <= this.slotSize) return;
    this.slotSize = size;
    this.data = new Uint8Array(pow2(this.batch) * size);
    for (let i = 0; i < this.batch; i++) this.views[i] = this.data.subarray(0, 0);
    this.viewLen.fill(-1);
    if (this.vnetRx === 'segment') {
      // A super-packet being segmented (the carry) stays where it is in the larger buffer.
      this.scratch = this.scratch.map((old) => {
        const next = new Uint8Array(vnetScratchLen(size - this.headroom));
        next.set(old);
        return next;
      });
    }
  }

  /** The interface's name. */
  get name(): string {
    return this.iface.name;
  }

  /** Descriptors (queues) open. */
  get queues(): number {
    return this.fds.length;
  }

  /** The descriptors, one per queue (for diagnostics; the device owns and closes them). */
  get fileDescriptors(): readonly number[] {
    return this.fds;
  }

  /** Installs the receiver of what the kernel sends into the interface. */
  setHandler(handler: (frame: Uint8Array) => void): void {
    if (typeof handler !== 'function') throw new PktTypeError(`tuntap ${this.name}: setHandler expects a function`);
    this.handler = handler;
    this.hasHandler = true;
  }

  private onReadable(q: number, revents: number): void {
    const n = this.n;
    const fd = this.fds[q]!;
    const c = this.counters[q]!;
    const slotSize = this.slotSize;
    const headroom = this.headroom;
    const data = this.data;
    const meta = this.meta;
    const st = q < this.vnetStates.length ? this.vnetStates[q]! : null;
    for (let b = 0; b < BATCHES_PER_WAKE; b++) {
      const k = st === null ? n.tuntapReadSlots(fd, data, meta, slotSize, headroom, 0, this.batch, c) : n.tuntapReadSlotsVnet(fd, data, meta, slotSize, headroom, 0, this.batch, c, this.scratch[q]!, st);
      c[IoStat.RxBatches]!++;
      if (this.closing !== null) {
        c[IoStat.RxDropClosed]! += k;
      } else if (!this.hasHandler) {
        c[IoStat.RxNoHandler]! += k;
      } else {
        for (let i = 0; i < k; i++) {
          const len = meta[2 * i + 1]!;
          let view = this.views[i]!;
          if (this.viewLen[i] !== len) {
            const start = i * slotSize + headroom;
            view = data.subarray(start, start + len);
            this.views[i] = view;
            this.viewLen[i] = len;
          }
          try {
            this.handler(view);
          } catch (err) {
            // The handler's bug: surface it as an uncaught exception, outside the read loop,
            // so that the other frames and devices go on.
            queueMicrotask(() => {
              throw err;
            });
          }
        }
      }
      if (k < this.batch) break;
    }
    // Segments of a super-packet still waiting: go on once the event loop had its turn (the
    // descriptor may not be readable again).
    if (st !== null && st[VnetState.CarryLen] !== 0 && this.closing === null && !this.failed) {
      setImmediate(() => {
        if (this.closing === null && !this.failed) this.onReadable(q, 0);
      });
    }
    if (c[IoStat.FatalErrno] !== 0 || (revents & POLLNVAL) !== 0) this.fail(c[IoStat.FatalErrno] || EBADF);
  }

  /**
   * Hands one frame to the kernel (through queue 0). Borrowed: with `sendBatch` (the default)
   * it is copied into an outgoing slot before this returns, and the slots go out together, one
   * addon call per batch, when the batch is full or at the end of the current event-loop job (a
   * microtask); with `sendBatch: 0` it is written at once.
   */
  send(frame: Uint8Array): void {
    const c = this.counters[0]!;
    if (this.closing !== null || this.failed) {
      c[IoStat.TxDropClosed]!++;
      return;
    }
    const len = frame.length;
    if (this.sendBatch === 0 || len > this.outSlotSize) {
      if (this.outPending > 0) this.flushSends();
      if (this.txPrefix === 0) this.n.tuntapWrite(this.fds[0]!, frame, c);
      else this.n.tuntapWriteVnet(this.fds[0]!, frame, c, this.txPrefix);
      if (c[IoStat.FatalErrno] !== 0) this.fail(c[IoStat.FatalErrno]!);
      return;
    }
    const k = this.outPending;
    this.outData.set(frame, k * this.outSlotSize);
    this.outMeta[2 * k + 1] = len;
    this.outPending = k + 1;
    if (k + 1 === this.sendBatch) this.flushSends();
    else if (k === 0) queueMicrotask(this.flushBound);
  }

  /** Writes the frames `send` gathered. */
  private flushSends(): void {
    const k = this.outPending;
    if (k === 0 || this.failed) return;
    this.outPending = 0;
    const c = this.counters[0]!;
    if (this.txPrefix === 0) this.n.tuntapWriteSlots(this.fds[0]!, this.outData, this.outMeta, this.outSlotSize, 0, k, c);
    else this.n.tuntapWriteSlotsVnet(this.fds[0]!, this.outData, this.outMeta, this.outSlotSize, 0, k, c, this.txPrefix);
    if (c[IoStat.FatalErrno] !== 0) this.fail(c[IoStat.FatalErrno]!);
  }

  private fail(errno: number): void {
    if (this.failed || this.closing !== null) return;
    this.failed = true;
    this.error = new PktError('ERR_PKT_IO', `tuntap ${this.name}: the device stopped working (errno ${errno}${errno === 77 ? ', EBADFD: the interface was deleted' : ''})`);
    const p = poller(this.n);
    for (const fd of this.fds) void p.remove(fd);
    this.resolveDone();
  }

  /** Counters: frames and bytes each way, drops by reason (summed over the queues). */
  stats(): TunTapStats {
    return ioStats(this.counters);
  }

  /** The kernel's view of the interface (index, MTU, flags, MAC). */
  info(): LinkState {
    return this.iface.info();
  }

  /** `ip link set NAME up|down`. */
  setUp(up: boolean): void {
    this.iface.setUp(up);
  }

  /** `ip link set NAME mtu MTU`; the read slots grow to match. */
  setMtu(mtu: number): void {
    this.iface.setMtu(mtu);
    this.sizeSlots(mtu);
    this.mtuNow = mtu;
  }

  /** The MTU when opened or last set with `setMtu` (`info()` asks the kernel). */
  get mtu(): number {
    return this.mtuNow;
  }

  /** `ip addr add PREFIX dev NAME` (IPv6: nodad unless `dad`). Does not change `addr` (Tun). */
  addAddr(prefix: IpPrefix | string, opts: { dad?: boolean } = {}): void {
    this.iface.addAddr(prefix, opts);
  }

  /** `ip addr del PREFIX dev NAME`. */
  delAddr(prefix: IpPrefix | string): void {
    this.iface.delAddr(prefix);
  }

  /** `ip route add DST [via GW] dev NAME`. */
  addRoute(route: RouteSpec | string): void {
    this.iface.addRoute(route);
  }

  /** `ip route del …`. */
  delRoute(route: RouteSpec | string): void {
    this.iface.delRoute(route);
  }

  /** `ip link set NAME netns NS` (the link goes down there; its addresses are gone). */
  moveTo(ns: NetnsRef): void {
    this.iface.moveTo(ns);
  }

  /**
   * Stops reading and closes every descriptor and the netlink socket. Idempotent; resolves once
   * the descriptors are closed.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.flushSends();
    const p = poller(this.n);
    await Promise.all(this.fds.map((fd) => p.remove(fd)));
    for (const fd of this.fds) this.n.fdClose(fd);
    this.iface.close();
    this.handler = noHandler;
    this.hasHandler = false;
    this.resolveDone();
  }
}

function checkOpenOptions(what: string, opts: DeviceOptions, tap: boolean) {
  const cfg = checkInterfaceOptions(what, opts, tap, ['batch', 'headroom', 'sendBatch', 'vnetHdr']);
  if (tap && opts.vnetHdr !== undefined && opts.vnetHdr !== false) throw new ConfigError(`${what}: vnetHdr is supported on TUN devices only`);
  return { cfg, vnet: checkVnetOption(what, opts.vnetHdr) };
}

/**
 * A TUN device: an `L3Device` whose handler gets the IPv4 and IPv6 packets the kernel routes
 * into the interface, and whose `send` hands packets to the kernel as if they arrived on it.
 *
 * With `vnetHdr: { rx: 'raw' }` the handler's frames and `send`'s are the virtio-net header
 * followed by the packet (possibly a 64 KiB super-packet): see vnet.ts.
 *
 * `addr` is what pktkit considers the device's address (an L3Hub routes to the device by it):
 * it starts as the first of `addrs` and changes with `setAddr`, which, unlike `addAddr`, does
 * not touch the kernel.
 */
export class Tun extends TunTapDevice implements L3Device {
  private prefix: IpPrefix | null;
  private listeners: AddrListener[] = [];

  private constructor(n: TuntapNative, iface: Iface, fds: number[], opts: DeviceOptions, addr: IpPrefix | null, vnet: VnetConfig | null, offloads: number) {
    super(n, iface, fds, opts, 0, vnet, offloads);
    this.prefix = addr;
  }

  /**
   * Creates a TUN interface (failing if one of that name exists) and configures it.
   * @throws {PktError} ERR_PKT_NATIVE_UNAVAILABLE without the addon's `tuntap` feature;
   *   ERR_PKT_IO when the kernel refuses a step (not root, the name is taken, …).
   * @throws {PktTypeError|PktRangeError} on bad options.
   */
  static async open(opts: DeviceOptions = {}): Promise<Tun> {
    const { cfg, vnet } = checkOpenOptions('Tun.open', opts, false);
    const n = tuntapNative();
    const { iface, fds, offloads } = openInterface(n, cfg, false, false, null, vnet);
    return Tun.make(n, iface, fds, opts, cfg.addrs, vnet, offloads);
  }

  /**
   * Attaches to an existing TUN interface (persistent: `ip tuntap add NAME mode tun`), in this
   * namespace or in `opts.attachNetns`, and applies the other options to it.
   * @throws as `open`; ERR_PKT_IO also when there is no such interface.
   */
  static async attach(name: string, opts: DeviceOptions & { attachNetns?: NetnsRef } = {}): Promise<Tun> {
    checkIfName(name, 'Tun.attach');
    if (name === '') throw new PktTypeError('Tun.attach: expected the name of an existing interface');
    const { attachNetns, ...rest } = opts;
    const { cfg, vnet } = checkOpenOptions('Tun.attach', { ...rest, name }, false);
    const n = tuntapNative();
    const { iface, fds, offloads } = openInterface(n, cfg, false, true, attachNetns ?? null, vnet);
    return Tun.make(n, iface, fds, opts, cfg.addrs, vnet, offloads);
  }

  private static make(n: TuntapNative, iface: Iface, fds: number[], opts: DeviceOptions, addrs: IpPrefix[], vnet: VnetConfig | null, offloads: number): Tun {
    try {
      return new Tun(n, iface, fds, opts, addrs[0] ?? null, vnet, offloads);
    } catch (err) {
      iface.close();
      for (const fd of fds) n.fdClose(fd);
      throw err;
    }
  }

  override setHandler(handler: PacketHandler): void {
    super.setHandler(handler);
  }

  /** Hands an IPv4 or IPv6 packet to the kernel (as received on the interface). */
  override send(packet: Uint8Array): void {
    super.send(packet);
  }

  get addr(): IpPrefix | null {
    return this.prefix;
  }

  /** Sets pktkit's idea of the device's address (for hubs); the kernel is not told: see addAddr. */
  setAddr(addr: IpPrefix | string | null): void {
    this.prefix = addr === null ? null : IpPrefix.from(addr);
    for (const l of [...this.listeners]) l(this.prefix);
  }

  watchAddr(listener: AddrListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i !== -1) this.listeners.splice(i, 1);
    };
  }

  override close(): Promise<void> {
    this.listeners = [];
    return super.close();
  }
}

/**
 * A TAP device: an `L2Device` whose handler gets the Ethernet frames the kernel sends out of the
 * interface, and whose `send` hands frames to the kernel as if they arrived on its wire.
 * `hwAddr` is the interface's MAC (the kernel's side), as `ip link` shows it.
 */
export class Tap extends TunTapDevice implements L2Device {
  private mac: number;

  private constructor(n: TuntapNative, iface: Iface, fds: number[], opts: DeviceOptions) {
    super(n, iface, fds, opts, ETH_HEADER_LEN + VLAN_TAG_LEN, null, 0);
    this.mac = iface.info().mac ?? 0;
  }

  /**
   * Creates a TAP interface (failing if one of that name exists) and configures it.
   * @throws as `Tun.open`.
   */
  static async open(opts: DeviceOptions = {}): Promise<Tap> {
    const { cfg } = checkOpenOptions('Tap.open', opts, true);
    const n = tuntapNative();
    const { iface, fds } = openInterface(n, cfg, true, false);
    return Tap.make(n, iface, fds, opts);
  }

  /**
   * Attaches to an existing TAP interface (`ip tuntap add NAME mode tap`), in this namespace or
   * in `opts.attachNetns`.
   * @throws as `Tun.attach`.
   */
  static async attach(name: string, opts: DeviceOptions & { attachNetns?: NetnsRef } = {}): Promise<Tap> {
    checkIfName(name, 'Tap.attach');
    if (name === '') throw new PktTypeError('Tap.attach: expected the name of an existing interface');
    const { attachNetns, ...rest } = opts;
    const { cfg } = checkOpenOptions('Tap.attach', { ...rest, name }, true);
    const n = tuntapNative();
    const { iface, fds } = openInterface(n, cfg, true, true, attachNetns ?? null);
    return Tap.make(n, iface, fds, opts);
  }

  private static make(n: TuntapNative, iface: Iface, fds: number[], opts: DeviceOptions): Tap {
    try {
      return new Tap(n, iface, fds, opts);
    } catch (err) {
      iface.close();
      for (const fd of fds) n.fdClose(fd);
      throw err;
    }
  }

  /** The interface's MAC address as a 48-bit number. */
  get hwAddr(): number {
    return this.mac;
  }

  /** `ip link set NAME address MAC`. */
  setMac(mac: number | string): void {
    this.iface.setMac(mac);
    this.mac = this.iface.info().mac ?? this.mac;
  }

  override setHandler(handler: FrameHandler): void {
    super.setHandler(handler);
  }

  /** Hands an Ethernet frame to the kernel (as received on the interface's wire). */
  override send(frame: Uint8Array): void {
    super.send(frame);
  }
}
