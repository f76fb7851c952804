/**
 * L2Hub: a learning Ethernet switch (IEEE 802.1D transparent bridging, without spanning tree).
 *
 * Per frame, from port P:
 *   1. drop it (counted) if shorter than an Ethernet header, or if its source MAC is a group
 *      address (802.1D: group addresses are never a frame's source);
 *   2. learn: the source MAC now lives on P, last seen now (a MAC that shows up on another port
 *      moves there);
 *   3. forward: a group destination (broadcast, multicast) floods to every port but P; a known
 *      unicast destination goes to its port only, or is filtered if that port is P (it is
 *      already on P's segment); an unknown or aged-out one floods.
 *
 * The MAC table (mac-table.ts) is bounded (`maxMacs`, default 8192); when full, the least
 * recently seen MAC is evicted. Entries age out `agingMs` (default 5 minutes, IEEE's default)
 * after a MAC was last seen as a source; unlike the Go original, traffic keeps an entry alive.
 * Time is coarse: a periodic timer on the injected clock advances a seconds counter and ages
 * the table, so the per-frame path never reads a clock.
 *
 * Nothing is allocated per frame. Delivery is a synchronous `send` on the target device; a
 * device that throws is counted (`send-failed` on its port) and the flood goes on. VLAN tags
 * are carried but not interpreted (one broadcast domain).
 *
 * Not concurrent: a hub and its devices live on one thread (the dataplane joins threads with
 * rings that are themselves devices).
 */

import { ClosedError, intInRange } from '../errors.js';
import { formatMac } from '../wire/addr.js';
import { be32i } from '../wire/bytes.js';
import { ETH_HEADER_LEN } from '../wire/ethernet.js';
import { WireStatus } from '../wire/status.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { TapDirection, type Cleanup, type L2Connector, type L2Device, type PacketTap } from './device.js';
import { MacTable } from './mac-table.js';
import { DropReason, PortCounters, type PortStats } from './stats.js';

export interface L2HubOptions {
  /** Most MACs the table holds (default 8192). */
  maxMacs?: number;
  /** How long a MAC stays learned after it was last seen, in ms (default 300000; at least 1000). */
  agingMs?: number;
  /** Time source for aging (default the system clock). */
  clock?: Clock;
  /** Fixes the MAC table's hash seed (tests). */
  hashSeed?: number;
}

export interface L2HubPortStats extends PortStats {
  port: number;
  hwAddr: string;
}

export interface L2HubStats {
  ports: L2HubPortStats[];
  macs: number;
  maxMacs: number;
  learned: number;
  moved: number;
  expired: number;
  evicted: number;
}

const TICK_MS = 1000;

/** One attached device. */
class L2Port {
  readonly counters = new PortCounters();
  tap: PacketTap | null = null;
  closed = false;
  readonly id: number;
  readonly dev: L2Device;
  constructor(id: number, dev: L2Device) {
    this.id = id;
    this.dev = dev;
  }
}

/** Returned by `L2Hub.connect`: detaches the device, reads its port's counters, taps it. */
export class L2HubHandle {
  private readonly hub: L2Hub;
  private readonly port: L2Port;
  constructor(hub: L2Hub, port: L2Port) {
    this.hub = hub;
    this.port = port;
  }

  /** The port number (small integer, reused after detach). */
  get id(): number {
    return this.port.id;
  }

  /** Detaches the device from the hub and forgets its MACs. Idempotent. */
  close(): void {
    this.hub.detach(this.port);
  }

  /** Records this port's traffic (In: from the device into the hub; Out: to the device). */
  capture(tap: PacketTap | null): void {
    this.port.tap = tap;
  }

  stats(): PortStats {
    return this.port.counters.snapshot();
  }
}

export class L2Hub implements L2Connector {
  private ports: L2Port[] = [];
  private readonly byId: (L2Port | null)[] = [];
  private readonly freeIds: number[] = [];
  private readonly table: MacTable;
  private readonly agingSec: number;
  private readonly clock: Clock;
  private readonly startMs: number;
  private nowSec = 0;
  private timer: TimerHandle | null;
  private closed = false;
  private learned = 0;
  private moved = 0;
  private expired = 0;

  /** @throws {PktRangeError} when an option is out of range. */
  constructor(opts: L2HubOptions = {}) {
    this.table = new MacTable(intInRange('L2Hub maxMacs', opts.maxMacs ?? 8192, 1, 1 << 22), opts.hashSeed);
    this.agingSec = Math.ceil(intInRange('L2Hub agingMs', opts.agingMs ?? 300_000, 1000, 2 ** 31 - 1) / 1000);
    this.clock = opts.clock ?? systemClock;
    this.startMs = this.clock.now();
    this.timer = this.clock.setTimer(this.onTick, TICK_MS);
  }

  /**
   * Attaches a device: its frames enter the switch, and the switch delivers to its `send`.
   * @throws {ClosedError} once the hub is closed.
   */
  connect(dev: L2Device): L2HubHandle {
    if (this.closed) throw new ClosedError('L2Hub');
    const id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.byId.length;
    const port = new L2Port(id, dev);
    this.byId[id] = port;
    this.ports = [...this.ports, port];
    dev.setHandler((frame) => this.forward(port, frame));
    return new L2HubHandle(this, port);
  }

  /** L2Connector: attaches `dev` and returns the detach function. */
  connectL2(dev: L2Device): Cleanup {
    const h = this.connect(dev);
    return () => h.close();
  }

  /** Number of MACs learned now. */
  get macCount(): number {
    return this.table.size;
  }

  /** The port a MAC is learned on, or -1 (cold path: tests and diagnostics). */
  portOfMac(mac: number): number {
    const hi = Math.floor(mac / 0x1_0000_0000);
    const e = this.table.lookup(hi, mac | 0);
    return e < 0 || this.table.seenOf(e) + this.agingSec <= this.nowSec ? -1 : this.table.portOf(e);
  }

  /** The frame path. `frame` is borrowed until this returns. */
  private forward(src: L2Port, frame: Uint8Array): void {
    const len = frame.length;
    if (src.closed) return src.counters.drop(DropReason.Closed);
    src.counters.rx(len);
    if (src.tap !== null) src.tap.tap(frame, TapDirection.In);
    if (len < ETH_HEADER_LEN) return src.counters.drop(WireStatus.Truncated);
    // Source MAC at bytes 6-11: high 16 bits, low 32 bits.
    if ((frame[6]! & 1) !== 0) return src.counters.drop(DropReason.BadSourceMac);
    const table = this.table;
    const now = this.nowSec;
    const srcHi = (frame[6]! << 8) | frame[7]!;
    const srcLo = be32i(frame, 8);
    const se = table.lookup(srcHi, srcLo);
    if (se < 0) {
      table.learn(srcHi, srcLo, src.id, now);
      this.learned++;
    } else {
      if (table.portOf(se) !== src.id) {
        table.setPort(se, src.id);
        this.moved++;
      }
      table.touch(se, now);
    }
    if ((frame[0]! & 1) !== 0) return this.flood(src, frame);
    const de = table.lookup((frame[0]! << 8) | frame[1]!, be32i(frame, 2));
    if (de < 0) return this.flood(src, frame);
    if (table.seenOf(de) + this.agingSec <= now) {
      table.removeEntry(de);
      this.expired++;
      return this.flood(src, frame);
    }
    const dstId = table.portOf(de);
    if (dstId === src.id) return src.counters.drop(DropReason.Filtered);
    const dst = this.byId[dstId];
    if (dst === null || dst === undefined) return this.flood(src, frame);
    this.deliver(dst, frame);
  }

  private flood(src: L2Port, frame: Uint8Array): void {
    const ports = this.ports;
    for (let i = 0; i < ports.length; i++) {
      const p = ports[i]!;
      if (p !== src && !p.closed) this.deliver(p, frame);
    }
  }

  private deliver(port: L2Port, frame: Uint8Array): void {
    port.counters.tx(frame.length);
    if (port.tap !== null) port.tap.tap(frame, TapDirection.Out);
    try {
      port.dev.send(frame);
    } catch {
      port.counters.drop(DropReason.SendFailed);
    }
  }

  /** @internal Called by the handle. */
  detach(port: L2Port): void {
    if (port.closed) return;
    port.closed = true;
    this.ports = this.ports.filter((p) => p !== port);
    this.table.removePort(port.id);
    this.byId[port.id] = null;
    this.freeIds.push(port.id);
  }

  private readonly onTick = (): void => {
    this.timer = null;
    if (this.closed) return;
    this.tick();
    this.timer = this.clock.setTimer(this.onTick, TICK_MS);
  };

  /** Advances the coarse clock and ages the table. Runs every second on the hub's clock. */
  tick(): void {
    this.nowSec = Math.floor((this.clock.now() - this.startMs) / 1000);
    this.expired += this.table.expireOlderThan(this.nowSec - this.agingSec + 1);
  }

  stats(): L2HubStats {
    return {
      ports: this.ports.map((p) => ({ port: p.id, hwAddr: formatMac(p.dev.hwAddr), ...p.counters.snapshot() })),
      macs: this.table.size,
      maxMacs: this.table.capacity,
      learned: this.learned,
      moved: this.moved,
      expired: this.expired,
      evicted: this.table.evictions,
    };
  }

  /** Detaches every device (devices themselves stay open) and stops the aging timer. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
    for (const p of this.ports) this.detach(p);
    this.table.clear();
  }
}
