/**
 * TUN and TAP devices as dataplane ports: `attachTun(dp, engine, opts)` creates a TUN (or
 * attaches a TAP, `attachTap`), joins each of its queues to `engine` through an external port
 * (`Dataplane.attachPort`: a ring pair), and starts one I/O thread per queue (io-thread.ts) that
 * moves frames between the queue's descriptor and the rings.
 *
 *   kernel <-> TUN queue fd <-> I/O thread <-> toEngine / fromEngine rings <-> engine (port worker)
 *
 * With `queues: N` (multiqueue), the kernel spreads flows over N descriptors, each with its own
 * thread and its own port on the engine: an L3Hub sees N ports with the device's address (the
 * first one routes: replies may leave by any queue, the kernel takes them all), an L2Hub learns
 * the kernel's MAC on whichever port it last sent from.
 *
 * This module uses the dataplane only through the `Dataplane` object it is given (type-only
 * imports): the I/O floor does not depend on the dataplane's code.
 */

import { Worker } from 'node:worker_threads';
import { Doorbell } from '../../rings/index.js';
import type { Dataplane } from '../dataplane/dataplane.js';
import type { ExternalPortEnd } from '../dataplane/external-port.js';
import type { EngineRef, LinkRef } from '../dataplane/types.js';
import { ConfigError, PktError, PktTypeError, intInRange } from '../errors.js';
import { type IpPrefix } from '../wire/addr.js';
import { ETH_HEADER_LEN } from '../wire/ethernet.js';
import { type InterfaceOptions, type LinkState, type RouteSpec, Iface, checkInterfaceOptions, openInterface } from './iface.js';
import { IO_CONTROL_BYTES, IoControl, IoState, type IoThreadData } from './io-thread.js';
import { IO_STATS_LEN, type TunTapStats, ioStats, tuntapNative } from './native.js';
import { type VnetHdrOptions, checkVnetOption } from './vnet.js';

const IO_WORKER_URL = new URL('../../workers/tuntap-io.js', import.meta.url);
const VLAN_TAG_LEN = 4;
/** How long close() lets an I/O thread finish before terminating it. */
const STOP_GRACE_MS = 2000;

/** The ring pair's geometry and the engine side's behaviour (Dataplane.attachPort's options). */
export interface PortRingOptions {
  /** Slots per ring (a power of two; default 1024). */
  slots?: number;
  /** Bytes per slot, headroom included (default: enough for the MTU, at least 2048). */
  slotSize?: number;
  /** Bytes kept free before each frame (default 64). */
  headroom?: number;
  /** The engine side's policy when the I/O thread's ring is full (default 'drop'). */
  policy?: 'drop' | 'wait';
  maxWaitMs?: number;
  /** TUN: the address of the engine side's device, what an L3Hub routes to the TUN (default: the first of `addrs`). */
  addr?: string | null;
}

/** Options of `attachTun` / `attachTap`. */
export interface AttachOptions extends InterfaceOptions {
  port?: PortRingOptions;
  /** Frames per native read or write call (default 64). */
  batch?: number;
  /**
   * When the engine's ring is full: 'wait' for room up to `rxMaxWaitMs`, then drop (default),
   * or 'drop' at once. Meanwhile the kernel keeps what it has not handed over (and drops past
   * its txqueuelen).
   */
  rxPolicy?: 'wait' | 'drop';
  /** Default 5. */
  rxMaxWaitMs?: number;
  /** Longest single park of an I/O thread (default 1000 ms; stops wake it at once anyway). */
  idleTimeoutMs?: number;
  /**
   * TUN only: the virtio-net header with checksum and TSO offloads (vnet.ts). The I/O thread
   * segments the kernel's super-packets into the ring's slots, so the engine still sees plain
   * packets of at most the MTU; rx 'raw' is not available here.
   */
  vnetHdr?: boolean | VnetHdrOptions;
}

/** A port's counters: the device's (summed over its queues) and each queue's. */
export interface TunTapPortStats extends TunTapStats {
  perQueue: TunTapStats[];
  /** Each queue thread's state: 'running', 'link-down', 'failed', 'stopped'. */
  states: string[];
}

const STATE_NAMES = ['starting', 'running', 'link-down', 'failed', 'stopped'];

interface Queue {
  fd: number;
  fdOpen: boolean;
  link: LinkRef;
  end: ExternalPortEnd;
  counters: Float64Array;
  control: Int32Array;
  worker: Worker | null;
  exited: Promise<void>;
  error: Error | null;
}

/**
 * A TUN or TAP interface attached to a dataplane engine. Configure the interface through
 * `iface` (or the shortcuts); `close()` stops the I/O threads, closes the descriptors, detaches
 * the ports from the engine and removes the interface (unless it is persistent).
 */
export class TunTapPort {
  readonly kind: 'tun' | 'tap';
  /** The kernel interface (addresses, routes, MTU, namespace). */
  readonly iface: Iface;
  /** The external links joining the engine to each queue. */
  readonly links: readonly LinkRef[];
  private readonly dp: Dataplane;
  private readonly queueList: Queue[];
  private closing: Promise<void> | null = null;
  /** TunOffload bits the kernel granted (0 without `vnetHdr`). */
  readonly offloads: number;

  /** @internal */
  constructor(kind: 'tun' | 'tap', dp: Dataplane, iface: Iface, queues: Queue[], offloads = 0) {
    this.kind = kind;
    this.offloads = offloads;
    this.dp = dp;
    this.iface = iface;
    this.queueList = queues;
    this.links = queues.map((q) => q.link);
  }

  get name(): string {
    return this.iface.name;
  }

  get queues(): number {
    return this.queueList.length;
  }

  /** The first error an I/O thread died of, if any (the device failing shows in `stats().fatalErrno`). */
  get error(): Error | null {
    return this.queueList.find((q) => q.error !== null)?.error ?? null;
  }

  /** Counters read from shared memory (no message to the threads). */
  stats(): TunTapPortStats {
    const arrays = this.queueList.map((q) => q.counters);
    return {
      ...ioStats(arrays),
      perQueue: arrays.map((a) => ioStats([a])),
      states: this.queueList.map((q) => STATE_NAMES[Atomics.load(q.control, IoControl.State)] ?? 'unknown'),
    };
  }

  /** The kernel's view of the interface. */
  info(): LinkState {
    return this.iface.info();
  }

  addAddr(prefix: IpPrefix | string, opts: { dad?: boolean } = {}): void {
    this.iface.addAddr(prefix, opts);
  }

  addRoute(route: RouteSpec | string): void {
    this.iface.addRoute(route);
  }

  setUp(up: boolean): void {
    this.iface.setUp(up);
  }

  /**
   * Stops the I/O threads (waking them through their eventfds), closes the descriptors, unlinks
   * the ports (when the dataplane is still open) and releases the netlink socket. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= stopQueues(this.dp, this.queueList).finally(() => this.iface.close());
    return this.closing;
  }
}

async function stopQueues(dp: Dataplane | null, queues: Queue[]): Promise<void> {
  for (const q of queues) {
    Atomics.store(q.control, IoControl.Stop, 1);
    new Doorbell(q.end.doorbell).wake();
  }
  await Promise.all(
    queues.map(async (q) => {
      if (q.worker !== null) {
        const w = q.worker;
        const timer = setTimeout(() => void w.terminate(), STOP_GRACE_MS);
        await q.exited;
        clearTimeout(timer);
      }
      closeFd(q);
    }),
  );
  if (dp !== null) {
    for (const q of queues) await dp.unlink(q.link).catch(() => {});
  }
  // Only now can no producer be about to kick the threads' eventfds.
  for (const q of queues) {
    const kick = Atomics.exchange(q.control, IoControl.KickFd, 0) - 1;
    if (kick >= 0) tuntapNative().fdClose(kick);
  }
}

function closeFd(q: Queue): void {
  if (q.fdOpen && Atomics.load(q.control, IoControl.FdClosed) === 0) {
    Atomics.store(q.control, IoControl.FdClosed, 1);
    tuntapNative().fdClose(q.fd);
  }
  q.fdOpen = false;
}

function startWorker(q: Queue, data: IoThreadData): Promise<void> {
  const w = new Worker(IO_WORKER_URL, { workerData: data, name: `tuntap-io ${data.fd}` });
  q.worker = w;
  let resolveExit: () => void = () => {};
  q.exited = new Promise((resolve) => {
    resolveExit = resolve;
  });
  return new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.on('error', (err) => {
      q.error ??= err;
      reject(err);
    });
    w.once('exit', (code) => {
      // A thread that died before closing its descriptor leaves it to us.
      closeFd(q);
      // A thread that exited while running was terminated (stopped) or died (failed).
      const state = Atomics.load(q.control, IoControl.State);
      if (state === IoState.Starting || state === IoState.Running) {
        Atomics.store(q.control, IoControl.State, Atomics.load(q.control, IoControl.Stop) === 1 ? IoState.Stopped : IoState.Failed);
      }
      resolveExit();
      reject(q.error ?? new PktError('ERR_PKT_IO', `tuntap: I/O thread exited with code ${code} before it started`));
    });
  });
}

async function attach(kind: 'tun' | 'tap', dp: Dataplane, engine: EngineRef | string, opts: AttachOptions): Promise<TunTapPort> {
  const what = kind === 'tun' ? 'attachTun' : 'attachTap';
  if (dp === null || typeof dp !== 'object' || typeof (dp as Partial<Dataplane>).attachPort !== 'function') {
    throw new PktTypeError(`${what}: expected a Dataplane as the first argument`);
  }
  const cfg = checkInterfaceOptions(what, opts, kind === 'tap', ['port', 'batch', 'rxPolicy', 'rxMaxWaitMs', 'idleTimeoutMs', 'vnetHdr']);
  if (kind === 'tap' && opts.vnetHdr !== undefined && opts.vnetHdr !== false) throw new ConfigError(`${what}: vnetHdr is supported on TUN devices only`);
  const vnet = checkVnetOption(what, opts.vnetHdr);
  if (vnet?.rx === 'raw') throw new ConfigError(`${what}: vnetHdr.rx 'raw' is for standalone Tun devices (a dataplane engine takes plain packets): use 'segment'`);
  const batch = intInRange(`${what}: batch`, opts.batch ?? 64, 1, 4096);
  const rxPolicy = opts.rxPolicy ?? 'wait';
  if (rxPolicy !== 'wait' && rxPolicy !== 'drop') throw new PktTypeError(`${what}: rxPolicy must be 'wait' or 'drop', got ${JSON.stringify(rxPolicy)}`);
  const rxMaxWaitMs = intInRange(`${what}: rxMaxWaitMs`, opts.rxMaxWaitMs ?? 5, 0, 60_000);
  const idleTimeoutMs = intInRange(`${what}: idleTimeoutMs`, opts.idleTimeoutMs ?? 1000, 1, 60_000);
  const port = opts.port ?? {};
  if (port === null || typeof port !== 'object') throw new PktTypeError(`${what}: port must be an object`);
  if (kind === 'tap' && port.addr !== undefined && port.addr !== null) throw new ConfigError(`${what}: port.addr is for TUN ports (layer 3)`);
  const headroom = port.headroom ?? 64;
  const frameMax = (cfg.mtu ?? 1500) + (kind === 'tap' ? ETH_HEADER_LEN + VLAN_TAG_LEN : 0);
  const slotSize = port.slotSize ?? Math.max(2048, (headroom + frameMax + 7) & ~7);
  if (Number.isInteger(headroom) && Number.isInteger(slotSize) && slotSize - headroom < frameMax) {
    throw new ConfigError(`${what}: slots of ${slotSize} bytes with ${headroom} of headroom cannot hold a ${frameMax}-byte frame (MTU ${cfg.mtu ?? 1500}): raise port.slotSize`);
  }
  const layer = kind === 'tun' ? 3 : 2;
  if (typeof engine === 'object' && engine !== null && engine.layer !== layer) {
    throw new ConfigError(`${what}: engine ${engine.id} works at layer ${engine.layer}; a ${kind.toUpperCase()} needs a layer-${layer} engine`);
  }
  const addr = kind === 'tun' ? (port.addr === undefined ? (cfg.addrs[0]?.toString() ?? null) : port.addr) : undefined;

  const n = tuntapNative(); // also lets this thread kick the I/O threads' eventfds (Doorbell.kicker)
  const { iface, fds, offloads } = openInterface(n, cfg, kind === 'tap', false, null, vnet);
  const queues: Queue[] = [];
  try {
    for (const fd of fds) {
      const { link, end } = await dp.attachPort(engine, {
        ...(port.slots === undefined ? {} : { slots: port.slots }),
        slotSize,
        headroom,
        ...(port.policy === undefined ? {} : { policy: port.policy }),
        ...(port.maxWaitMs === undefined ? {} : { maxWaitMs: port.maxWaitMs }),
        ...(addr === undefined ? {} : { addr }),
      });
      const q: Queue = {
        fd,
        fdOpen: true,
        link,
        end,
        counters: new Float64Array(new SharedArrayBuffer(IO_STATS_LEN * 8)),
        control: new Int32Array(new SharedArrayBuffer(IO_CONTROL_BYTES)),
        worker: null,
        exited: Promise.resolve(),
        error: null,
      };
      queues.push(q);
      if (end.layer !== layer) throw new ConfigError(`${what}: the engine works at layer ${end.layer}; a ${kind.toUpperCase()} needs a layer-${layer} engine`);
      await startWorker(q, {
        fd,
        end,
        counters: q.counters.buffer as SharedArrayBuffer,
        control: q.control.buffer as SharedArrayBuffer,
        batch,
        rxPolicy,
        rxMaxWaitMs,
        idleTimeoutMs,
        vnetHdrLen: vnet?.headerLen ?? 0,
      });
    }
  } catch (err) {
    await stopQueues(dp, queues).catch(() => {});
    for (const fd of fds.slice(queues.length)) n.fdClose(fd);
    for (const q of queues) if (q.worker === null) closeFd(q);
    iface.close();
    throw err;
  }
  return new TunTapPort(kind, dp, iface, queues, offloads);
}

/**
 * Creates a TUN interface, configures it (`opts`: name, MTU, addresses, routes, namespace, …)
 * and joins it to the layer-3 `engine` of `dp`, one external port and I/O thread per queue.
 * The engine side's device gets `port.addr` (default: the first of `addrs`), so that an L3Hub
 * routes the kernel's network to the TUN.
 * @throws {PktError} ERR_PKT_NATIVE_UNAVAILABLE without the addon's `tuntap` feature; ERR_PKT_IO
 *   when the kernel refuses a step; ERR_PKT_CONFIG for a layer-2 engine or slots too small.
 */
export function attachTun(dp: Dataplane, engine: EngineRef | string, opts: AttachOptions = {}): Promise<TunTapPort> {
  return attach('tun', dp, engine, opts);
}

/**
 * Creates a TAP interface, configures it and joins it to the layer-2 `engine` of `dp`, one
 * external port and I/O thread per queue.
 * @throws as `attachTun` (ERR_PKT_CONFIG for a layer-3 engine).
 */
export function attachTap(dp: Dataplane, engine: EngineRef | string, opts: AttachOptions = {}): Promise<TunTapPort> {
  return attach('tap', dp, engine, opts);
}
